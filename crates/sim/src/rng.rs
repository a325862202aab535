//! PCG32 (O'Neill's PCG-XSH-RR 64/32): the one named, portable PRNG of a run.
//!
//! Implemented here rather than taken from a crate so that a dependency upgrade can
//! never change a stream: the same scenario and seed give the same run on any machine,
//! any version. Independent streams (one per VM workload, one for failures) come from
//! PCG's stream selector, derived from the run seed.

/// PCG-XSH-RR with 64-bit state and 32-bit output.
#[derive(Debug, Clone)]
pub struct Pcg32 {
    state: u64,
    inc: u64,
    spare: Option<f64>,
}

const MULT: u64 = 6_364_136_223_846_793_005;

impl Pcg32 {
    /// `seed` picks the position, `stream` one of 2^63 independent sequences.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self {
            state: 0,
            inc: (stream << 1) | 1,
            spare: None,
        };
        r.next_u32();
        r.state = r.state.wrapping_add(seed);
        r.next_u32();
        r
    }

    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULT).wrapping_add(self.inc);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rot = (old >> 59) as u32;
        xorshifted.rotate_right(rot)
    }

    pub fn next_u64(&mut self) -> u64 {
        ((self.next_u32() as u64) << 32) | self.next_u32() as u64
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe under `ln`.
    fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// Standard normal (Box-Muller). Each draw makes a pair; the second is kept for
    /// the next call, so the stream stays a pure function of the call sequence and
    /// half the calls cost no logarithm.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = self.uniform_open0();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * sin);
        r * cos
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform_open0().ln()
    }

    /// Weibull with shape `k` and the given mean (scale = mean / Gamma(1 + 1/k)).
    pub fn weibull(&mut self, shape: f64, mean: f64) -> f64 {
        let scale = mean / gamma(1.0 + 1.0 / shape);
        scale * (-self.uniform_open0().ln()).powf(1.0 / shape)
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias at 64 bits is irrelevant here.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Gamma function (Lanczos approximation, g = 7), accurate to ~1e-13 for x > 0.
pub fn gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x))
    } else {
        let x = x - 1.0;
        let mut a = G[0];
        let t = x + 7.5;
        for (i, &g) in G.iter().enumerate().skip(1) {
            a += g / (x + i as f64);
        }
        (std::f64::consts::TAU).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

/// Labels of the run's random streams besides the workloads' (VM `i` has label `i + 1`,
/// all below 2^63). Each purpose has its own stream, so that what one consumes cannot
/// shift another: two policies in a sweep migrate differently, and so draw step
/// failures differently, yet face the same crashes.
pub mod stream {
    /// The stochastic crash process: times to failure and to repair.
    pub const CRASHES: u64 = 0;
    /// Injected migration step failures.
    pub const STEP_FAILURES: u64 = 1 << 63 | 1;
    /// Durations of the migration steps that move no memory.
    pub const STEP_DURATIONS: u64 = 1 << 63 | 2;
    /// A baseline's random VM selection (RS).
    pub const VM_SELECTION: u64 = 1 << 63 | 3;
}

/// Mix a run seed with a label into a sub-seed (SplitMix64 finalizer), so that streams
/// for different purposes never overlap by accident.
pub fn derive(seed: u64, label: u64) -> u64 {
    let mut z = seed ^ label.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_pcg32_reference_output() {
        // pcg32-demo: pcg32_srandom_r(&rng, 42u, 54u).
        let mut r = Pcg32::new(42, 54);
        let got: Vec<u32> = (0..6).map(|_| r.next_u32()).collect();
        assert_eq!(
            got,
            [
                0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e
            ]
        );
    }

    #[test]
    fn distributions_have_the_right_means() {
        let mut r = Pcg32::new(1, 2);
        let n = 200_000;
        let mean = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).sum::<f64>() / n as f64;
        assert!((mean(&mut || r.uniform()) - 0.5).abs() < 0.01);
        let mut r = Pcg32::new(3, 4);
        assert!((mean(&mut || r.exponential(10.0)) - 10.0).abs() < 0.2);
        let mut r = Pcg32::new(5, 6);
        assert!((mean(&mut || r.weibull(1.5, 10.0)) - 10.0).abs() < 0.2);
        let mut r = Pcg32::new(7, 8);
        assert!(mean(&mut || r.normal()).abs() < 0.01);
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
    }

    #[test]
    fn streams_differ() {
        let a: Vec<u32> = (0..4)
            .map({
                let mut r = Pcg32::new(9, 1);
                move |_| r.next_u32()
            })
            .collect();
        let b: Vec<u32> = (0..4)
            .map({
                let mut r = Pcg32::new(9, 2);
                move |_| r.next_u32()
            })
            .collect();
        assert_ne!(a, b);
        assert_ne!(derive(1, 1), derive(1, 2));
    }
}
