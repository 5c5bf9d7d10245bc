//! The simulation's one source of randomness, shared by every actor and fake and
//! seeded once: the same seed gives the same interleaving.

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

#[derive(Clone)]
pub struct Rng(Arc<Mutex<StdRng>>);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(StdRng::seed_from_u64(seed))))
    }

    fn with<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        let mut r = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut r)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.with(|r| r.random_range(0..n))
        }
    }

    pub fn chance(&self, p: f64) -> bool {
        self.with(|r| r.random_bool(p.clamp(0.0, 1.0)))
    }

    pub fn pick<'a, T>(&self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len() as u64) as usize)
        }
    }
}
