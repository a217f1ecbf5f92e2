//! Image files: a test set to run through a network (`mbnn sim --network
//! net.json --images test.json`).
//!
//! ```json
//! {"input": {"height": 8, "width": 8, "channels": 1, "bits": 4},
//!  "images": [[v_0, ..., v_{H*W*C-1}], ...],
//!  "labels": [l_0, ...]}
//! ```
//!
//! An image lists its values pixel by pixel in raster order, channels
//! innermost: value `(y*W + x)*C + c`, each an unsigned integer of the
//! network's input `bits`. `input` (optional) must be the network's input;
//! `labels` (optional) are the classes, one per image.

use crate::spec::layer::shown;
use crate::spec::network::{MapShape, Pixels};
use crate::util::bits::BitVec;
use serde_json::Value;
use std::path::Path;

/// The most images a file may hold.
pub const MAX_IMAGES: usize = 1_000_000;

/// Images as the network's input stream reads them, with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Each image's H*W pixels, channel c at `[c*bits +: bits]`.
    pub images: Vec<Vec<BitVec>>,
    pub labels: Option<Vec<usize>>,
}

/// Reads an image file for a network whose input is `input`; every error
/// starts with the path.
pub fn load_images(path: &Path, input: MapShape) -> Result<ImageSet, String> {
    let shown_path = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown_path}: cannot read it: {e}"))?;
    parse_images(&text, input).map_err(|e| format!("{shown_path}: {e}"))
}

/// Parses an image file's text for a network whose input is `input`.
pub fn parse_images(text: &str, input: MapShape) -> Result<ImageSet, String> {
    let Pixels::Levels { channels, bits } = input.pixels else { unreachable!("a network's input is unsigned values") };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let fields = value.as_object().ok_or_else(|| {
        format!("must hold a JSON object {{\"images\": ..., \"labels\": ...}}, got {}", shown(&value))
    })?;
    if let Some(key) = fields.keys().find(|k| !["input", "images", "labels", "comment"].contains(&k.as_str())) {
        return Err(format!("{key:?} is not a field of an image file: the fields are input, images, labels, comment"));
    }
    if let Some(given) = fields.get("input") {
        let wanted =
            serde_json::json!({"height": input.height, "width": input.width, "channels": channels, "bits": bits});
        if *given != wanted {
            return Err(format!("\"input\" {} is not the network's input {wanted}", shown(given)));
        }
    }
    let list = fields.get("images").ok_or("\"images\" is missing: it is a required field")?;
    let items = list.as_array().ok_or_else(|| format!("\"images\" must be a list of images, got {}", shown(list)))?;
    if items.is_empty() || items.len() > MAX_IMAGES {
        return Err(format!("\"images\" has {} images: a file holds 1..={MAX_IMAGES}", items.len()));
    }
    let values = input.height * input.width * channels;
    let max = (1u64 << bits) - 1;
    let images = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let image = item.as_array().filter(|a| a.len() == values).ok_or_else(|| {
                format!("\"images\"[{i}] must be a list of {values} integers (H*W*C of the input), got {}", shown(item))
            })?;
            let ints = image
                .iter()
                .enumerate()
                .map(|(e, v)| match v.as_u64() {
                    Some(x) if x <= max => Ok(x),
                    _ => Err(format!(
                        "\"images\"[{i}][{e}] must be an integer in 0..={max} (the input's {bits} bits), got {}",
                        shown(v)
                    )),
                })
                .collect::<Result<Vec<u64>, String>>()?;
            let b = bits as usize;
            Ok(ints
                .chunks(channels)
                .map(|pixel| BitVec::from_fn(channels * b, |bit| (pixel[bit / b] >> (bit % b)) & 1 == 1))
                .collect())
        })
        .collect::<Result<Vec<Vec<BitVec>>, String>>()?;
    let labels = match fields.get("labels") {
        None => None,
        Some(v) => {
            let list = v.as_array().filter(|a| a.len() == images.len()).ok_or_else(|| {
                format!("\"labels\" must be a list of {} integers, one per image, got {}", images.len(), shown(v))
            })?;
            let labels = list
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    l.as_u64()
                        .map(|x| x as usize)
                        .ok_or_else(|| format!("\"labels\"[{i}] must be an integer >= 0 (a class), got {}", shown(l)))
                })
                .collect::<Result<Vec<usize>, String>>()?;
            Some(labels)
        }
    };
    Ok(ImageSet { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MapShape {
        MapShape { height: 1, width: 2, pixels: Pixels::Levels { channels: 2, bits: 3 } }
    }

    #[test]
    fn values_are_packed_channel_by_channel_in_raster_order() {
        let set = parse_images(r#"{"images": [[1, 7, 0, 4]], "labels": [3]}"#, input()).unwrap();
        // pixel 0: channel 0 = 1 (bits 0..3), channel 1 = 7 (bits 3..6).
        let bits = |px: &BitVec| (0..6).map(|b| u8::from(px.get(b))).collect::<Vec<_>>();
        assert_eq!(bits(&set.images[0][0]), vec![1, 0, 0, 1, 1, 1]);
        assert_eq!(bits(&set.images[0][1]), vec![0, 0, 0, 0, 0, 1]);
        assert_eq!(set.labels, Some(vec![3]));
    }

    #[test]
    fn malformed_files_name_the_field_and_the_range() {
        let err = |text: &str| parse_images(text, input()).unwrap_err();
        assert!(err("[1]").starts_with("must hold a JSON object"));
        assert_eq!(err(r#"{"images": []}"#), "\"images\" has 0 images: a file holds 1..=1000000");
        assert!(err(r#"{"images": [[1, 2, 3]]}"#).starts_with("\"images\"[0] must be a list of 4 integers"));
        assert_eq!(
            err(r#"{"images": [[1, 2, 8, 0]]}"#),
            "\"images\"[0][2] must be an integer in 0..=7 (the input's 3 bits), got 8"
        );
        assert!(err(r#"{"images": [[1, 2, 3, 0]], "labels": [1, 2]}"#).starts_with("\"labels\" must be a list of 1"));
        assert!(err(r#"{"images": [[1, 2, 3, 0]], "labels": [-1]}"#).starts_with("\"labels\"[0] must be an integer"));
        assert!(err(r#"{"images": [[0, 0, 0, 0]], "extra": 1}"#).starts_with("\"extra\" is not a field"));
        let wrong = r#"{"input": {"height": 2, "width": 2, "channels": 2, "bits": 3}, "images": [[0, 0, 0, 0]]}"#;
        assert!(err(wrong).contains("is not the network's input"));
    }
}
