//! A design's signature, written beside its RTL (after Google XLS's module
//! signature): every port with its role, and the interface the ports make.
//! The simulation bridge, the test benches, the board wrapper, the
//! activity simulation and the reports read it instead of assuming names.

use crate::rtl::Dir;
use serde::Serialize;

/// What a port is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clock,
    /// Synchronous, active high.
    Reset,
    /// Fixed latency: the data inputs of this cycle are valid.
    InValid,
    /// Fixed latency: the result of the input `latency` cycles ago.
    OutValid,
    /// A data input (weights, activations).
    Data,
    /// The result.
    Result,
    /// Stream input (SPEC 6.1): `s_axis_tvalid`, `s_axis_tready`, `s_axis_tdata`.
    InStreamValid,
    InStreamReady,
    InStreamData,
    /// Stream output: `m_axis_tvalid`, `m_axis_tready`, `m_axis_tdata`, `m_axis_tlast`.
    OutStreamValid,
    OutStreamReady,
    OutStreamData,
    OutStreamLast,
}

/// The roles of a stream design's ports (SPEC 6.1), in the order every
/// stream top makes them: clock, reset, the input stream, the output
/// stream (`m_axis_tlast` last).
pub const STREAM_ROLES: [Role; 9] = [
    Role::Clock,
    Role::Reset,
    Role::InStreamData,
    Role::InStreamValid,
    Role::InStreamReady,
    Role::OutStreamData,
    Role::OutStreamValid,
    Role::OutStreamReady,
    Role::OutStreamLast,
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
    /// Two's complement (documents the value; arithmetic never depends on it).
    pub signed: bool,
    pub role: Role,
}

/// How the ports behave over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Interface {
    /// SPEC section 4: a new input every cycle; its result `latency` cycles later.
    FixedLatency { latency: u32 },
    /// SPEC section 6.1: ready/valid streams of pixels; one output pixel
    /// per `ii` cycles, `cycles_per_frame` per frame in steady state.
    Stream { ii: u64, cycles_per_frame: u64 },
}

/// The frames per second of a stream taking `cycles_per_frame` cycles a
/// frame at `clock_mhz`: every rate the tool reports, planned or measured.
pub fn frames_per_second(clock_mhz: f64, cycles_per_frame: u64) -> f64 {
    clock_mhz * 1e6 / cycles_per_frame.max(1) as f64
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signature {
    pub top: String,
    pub ports: Vec<Port>,
    pub interface: Interface,
}

impl Signature {
    /// The port with `role`; every signature has exactly one per control role.
    pub fn port(&self, role: Role) -> Option<&Port> {
        self.ports.iter().find(|p| p.role == role)
    }

    /// The name of the port with `role`, which must exist.
    pub fn name(&self, role: Role) -> &str {
        &self.port(role).unwrap_or_else(|| panic!("{} has no {role:?} port", self.top)).name
    }

    /// Every input but the clock, in port order: what a simulation drives.
    pub fn driven_inputs(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.dir == Dir::In && p.role != Role::Clock)
    }

    pub fn outputs(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.dir == Dir::Out)
    }

    /// The data inputs, in port order.
    pub fn data_inputs(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.role == Role::Data)
    }

    /// Position of the port with `role` among [`Signature::driven_inputs`].
    pub fn input_index(&self, role: Role) -> Option<usize> {
        self.driven_inputs().position(|p| p.role == role)
    }

    /// Position of the port with `role` among [`Signature::outputs`].
    pub fn output_index(&self, role: Role) -> Option<usize> {
        self.outputs().position(|p| p.role == role)
    }

    /// The latency of a fixed-latency design.
    pub fn latency(&self) -> Option<u32> {
        match self.interface {
            Interface::FixedLatency { latency } => Some(latency),
            Interface::Stream { .. } => None,
        }
    }

    /// The result port of a fixed-latency design.
    pub fn result(&self) -> Option<&Port> {
        self.port(Role::Result)
    }
}

impl Signature {
    /// The signature of a generated top module: its ports in order, each
    /// with the role the generator gave it (one role per port, in order).
    pub fn of_module(module: &crate::rtl::Module, roles: &[Role], interface: Interface) -> Signature {
        assert_eq!(module.ports.len(), roles.len(), "{}: one role per port", module.name);
        let ports = module
            .port_signals()
            .zip(roles)
            .map(|(s, &role)| {
                let crate::rtl::SigKind::Port(dir) = s.kind else { unreachable!("port_signals yields ports") };
                Port { name: s.name.clone(), dir, width: s.width, signed: s.signed, role }
            })
            .collect();
        Signature { top: module.name.clone(), ports, interface }
    }
}
