//! An episode's id, drawn when first read.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// An episode's id (a UUID; JSON: its hyphenated text).
///
/// A reset draws the id from the episode's seeded generator (docs/behaviour.md §13) unless
/// one is supplied. Most episodes never show it (nothing a learner reads through the vector
/// environment holds it), so the draw waits until the id is read: a drawn id keeps the seed
/// and the engine's function that draws from it, and [`EpisodeId::get`] draws it. Either way
/// the id is a pure function of what the reset was given, so equality, JSON and `Debug`
/// are those of the UUID.
#[derive(Clone, Copy)]
pub struct EpisodeId(Repr);

#[derive(Clone, Copy)]
enum Repr {
    Known(Uuid),
    Drawn { seed: u64, draw: fn(u64) -> Uuid },
}

impl EpisodeId {
    /// An id given as is.
    pub const fn new(id: Uuid) -> Self {
        EpisodeId(Repr::Known(id))
    }

    /// The id `draw(seed)`, drawn when first read. `draw` must be a pure function.
    pub const fn drawn(seed: u64, draw: fn(u64) -> Uuid) -> Self {
        EpisodeId(Repr::Drawn { seed, draw })
    }

    /// The UUID (a drawn id is drawn again at every call: keep the result if it is read often).
    pub fn get(&self) -> Uuid {
        match self.0 {
            Repr::Known(id) => id,
            Repr::Drawn { seed, draw } => draw(seed),
        }
    }
}

impl From<Uuid> for EpisodeId {
    fn from(id: Uuid) -> Self {
        EpisodeId::new(id)
    }
}

impl PartialEq for EpisodeId {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            // The same draw of the same seed: equal without drawing.
            (Repr::Drawn { seed: a, draw: f }, Repr::Drawn { seed: b, draw: g })
                if a == b && std::ptr::fn_addr_eq(f, g) =>
            {
                true
            }
            _ => self.get() == other.get(),
        }
    }
}

impl Eq for EpisodeId {}

impl PartialEq<Uuid> for EpisodeId {
    fn eq(&self, other: &Uuid) -> bool {
        self.get() == *other
    }
}

impl fmt::Debug for EpisodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl fmt::Display for EpisodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

impl Serialize for EpisodeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EpisodeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Uuid::deserialize(deserializer).map(EpisodeId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(seed: u64) -> Uuid {
        Uuid::from_u64_pair(seed, seed.rotate_left(17) ^ 0x5bd1_e995)
    }

    fn other(seed: u64) -> Uuid {
        Uuid::from_u64_pair(!seed, seed)
    }

    #[test]
    fn a_drawn_id_reads_compares_and_prints_as_its_uuid() {
        let drawn = EpisodeId::drawn(7, spread);
        let known = EpisodeId::new(spread(7));
        assert_eq!(drawn.get(), spread(7));
        assert_eq!(drawn, known);
        assert_eq!(known, drawn);
        assert_eq!(drawn, spread(7));
        assert_eq!(drawn, EpisodeId::drawn(7, spread));
        assert_ne!(drawn, EpisodeId::drawn(8, spread));
        // Another function of the same seed is another id.
        assert_ne!(drawn, EpisodeId::drawn(7, other));
        assert_eq!(format!("{drawn:?}"), format!("{:?}", spread(7)));
        assert_eq!(drawn.to_string(), spread(7).to_string());
        let json = serde_json::to_string(&drawn).unwrap();
        assert_eq!(json, serde_json::to_string(&spread(7)).unwrap());
        let back: EpisodeId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, drawn);
        assert!(serde_json::from_str::<EpisodeId>("\"not a uuid\"").is_err());
    }
}
