//! Packed bit vectors (element i is bit i, LSB first), their hex form of
//! SPEC section 2, and a small deterministic random source.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BitVec {
    len: usize,
    words: Vec<u64>,
}

impl BitVec {
    pub fn zeros(len: usize) -> BitVec {
        BitVec { len, words: vec![0; len.div_ceil(64)] }
    }

    pub fn ones(len: usize) -> BitVec {
        let mut v = BitVec { len, words: vec![u64::MAX; len.div_ceil(64)] };
        v.mask_top();
        v
    }

    /// From little-endian words; bits at and above `len` are cleared.
    pub fn from_words(len: usize, mut words: Vec<u64>) -> BitVec {
        words.resize(len.div_ceil(64), 0);
        let mut v = BitVec { len, words };
        v.mask_top();
        v
    }

    pub fn from_fn(len: usize, f: impl Fn(usize) -> bool) -> BitVec {
        let mut v = BitVec::zeros(len);
        for i in 0..len {
            v.set(i, f(i));
        }
        v
    }

    fn mask_top(&mut self) {
        let rem = self.len % 64;
        if rem != 0 {
            let last = self.words.len() - 1;
            self.words[last] &= (1u64 << rem) - 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub fn get(&self, i: usize) -> bool {
        assert!(i < self.len);
        (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    pub fn set(&mut self, i: usize, value: bool) {
        assert!(i < self.len);
        let bit = 1u64 << (i % 64);
        if value {
            self.words[i / 64] |= bit;
        } else {
            self.words[i / 64] &= !bit;
        }
    }

    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Bitwise NOT within the vector's length.
    pub fn not(&self) -> BitVec {
        BitVec::from_words(self.len, self.words.iter().map(|w| !w).collect())
    }

    pub fn and(&self, other: &BitVec) -> BitVec {
        assert_eq!(self.len, other.len);
        BitVec::from_words(self.len, self.words.iter().zip(&other.words).map(|(a, b)| a & b).collect())
    }

    /// `self.and(other).count_ones()`, with no vector built: the golden
    /// models' inner loop.
    pub fn count_and(&self, other: &BitVec) -> u64 {
        assert_eq!(self.len, other.len);
        self.words.iter().zip(&other.words).map(|(a, b)| u64::from((a & b).count_ones())).sum()
    }

    /// `self.xnor(other).and(mask).count_ones()`, with no vector built:
    /// the elements where the two agree, among those `mask` has.
    pub fn count_agree_within(&self, other: &BitVec, mask: &BitVec) -> u64 {
        assert!(self.len == other.len && self.len == mask.len);
        let words = self.words.iter().zip(&other.words).zip(&mask.words);
        words.map(|((a, b), m)| u64::from((!(a ^ b) & m).count_ones())).sum()
    }

    pub fn xnor(&self, other: &BitVec) -> BitVec {
        assert_eq!(self.len, other.len);
        BitVec::from_words(self.len, self.words.iter().zip(&other.words).map(|(a, b)| !(a ^ b)).collect())
    }

    /// `"0x"` then exactly ceil(len/4) hex digits, most significant first.
    pub fn to_hex(&self) -> String {
        let ndigits = self.len.div_ceil(4);
        let mut s = String::with_capacity(ndigits + 2);
        s.push_str("0x");
        for d in (0..ndigits).rev() {
            let nibble = (self.words[d / 16] >> ((d % 16) * 4)) & 0xf;
            s.push(char::from_digit(nibble as u32, 16).unwrap());
        }
        s
    }

    /// Parses the hex form; the digit count must be exactly ceil(len/4) and
    /// no bit above `len` may be set.
    pub fn from_hex(text: &str, len: usize) -> Result<BitVec, String> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or_else(|| format!("hex vector {text:?} must start with 0x"))?;
        let want = len.div_ceil(4);
        if digits.len() != want {
            return Err(format!(
                "hex vector {} has {} digits, a {len}-bit vector needs exactly {want}",
                shorten(text),
                digits.len()
            ));
        }
        let mut v = BitVec::zeros(len);
        for (pos, ch) in digits.chars().rev().enumerate() {
            let nibble =
                ch.to_digit(16).ok_or_else(|| format!("hex vector {} has a non-hex digit {ch:?}", shorten(text)))?;
            for b in 0..4 {
                if (nibble >> b) & 1 == 1 {
                    let i = pos * 4 + b;
                    if i >= len {
                        return Err(format!("hex vector {} sets bit {i}, beyond its {len} bits", shorten(text)));
                    }
                    v.set(i, true);
                }
            }
        }
        Ok(v)
    }

    pub fn random(len: usize, rng: &mut SplitMix64) -> BitVec {
        BitVec::from_words(len, (0..len.div_ceil(64)).map(|_| rng.next_u64()).collect())
    }

    /// The vector as a two's-complement (`signed`) or unsigned integer; the
    /// vector must be at most 64 bits wide.
    pub fn to_i64(&self, signed: bool) -> i64 {
        assert!(self.len <= 64 && self.len > 0);
        let raw = self.words[0];
        if signed && self.len < 64 && self.get(self.len - 1) {
            (raw | (u64::MAX << self.len)) as i64
        } else {
            raw as i64
        }
    }

    pub fn from_i64(len: usize, value: i64) -> BitVec {
        BitVec::from_words(len, vec![value as u64])
    }

    /// Element `k` of a packed vector of `bits`-bit two's-complement integers.
    pub fn signed_element(&self, k: usize, bits: u32) -> i64 {
        let mut x: i64 = 0;
        for b in 0..bits as usize {
            if self.get(k * bits as usize + b) {
                x |= 1 << b;
            }
        }
        if bits < 64 && x & (1 << (bits - 1)) != 0 { x - (1 << bits) } else { x }
    }

    /// Bit plane `i` of `n` packed `bits`-bit elements: bit k is element k's bit i.
    pub fn plane(&self, n: usize, bits: u32, i: u32) -> BitVec {
        BitVec::from_fn(n, |k| self.get(k * bits as usize + i as usize))
    }
}

fn shorten(text: &str) -> String {
    if text.len() > 24 { format!("\"{}...\"", &text[..20]) } else { format!("{text:?}") }
}

impl fmt::Debug for BitVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.to_hex(), self.len)
    }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform, so a
/// seed always names the same weights and the same test vectors.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_digit_count() {
        let v = BitVec::from_fn(10, |i| i == 0 || i == 9);
        assert_eq!(v.to_hex(), "0x201");
        assert_eq!(BitVec::from_hex("0x201", 10).unwrap(), v);
        assert!(BitVec::from_hex("0x0201", 10).is_err());
        assert!(BitVec::from_hex("0x401", 10).is_err(), "bit 10 is beyond a 10-bit vector");
        assert!(BitVec::from_hex("201", 10).is_err());
        assert!(BitVec::from_hex("0x2g1", 10).is_err());
        let wide = BitVec::from_fn(70, |i| i % 3 == 0);
        assert_eq!(BitVec::from_hex(&wide.to_hex(), 70).unwrap(), wide);
    }

    /// The fused counts against the element-by-element definition, on
    /// lengths that end inside a word and on a word's edge.
    #[test]
    fn fused_counts_equal_counting_element_by_element() {
        let mut rng = SplitMix64::new(5);
        for len in [1, 63, 64, 65, 130, 257] {
            let (a, b, m) =
                (BitVec::random(len, &mut rng), BitVec::random(len, &mut rng), BitVec::random(len, &mut rng));
            let and = (0..len).filter(|&i| a.get(i) && b.get(i)).count() as u64;
            let agree = (0..len).filter(|&i| a.get(i) == b.get(i) && m.get(i)).count() as u64;
            assert_eq!((a.count_and(&b), a.count_agree_within(&b, &m)), (and, agree), "length {len}");
        }
    }

    #[test]
    fn signed_conversion() {
        assert_eq!(BitVec::from_i64(4, -3).to_i64(true), -3);
        assert_eq!(BitVec::from_i64(4, -3).to_i64(false), 13);
        assert_eq!(BitVec::from_i64(64, i64::MIN).to_i64(true), i64::MIN);
    }
}
