//! Sets of a function's locals (params first), of any size.

/// A set of local indices: bit `i` of word `i / 64` for local `i`. Kept
/// without trailing zero words, so that equal sets compare and hash equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LocalSet {
    words: Vec<u64>,
}

impl LocalSet {
    /// Locals `0..n`.
    pub fn first(n: usize) -> Self {
        let mut words = vec![u64::MAX; n / 64];
        if !n.is_multiple_of(64) {
            words.push((1 << (n % 64)) - 1);
        }
        LocalSet { words }
    }

    /// The locals of a mask: bit `i` for local `i`.
    pub fn from_mask(mask: u32) -> Self {
        let mut set = LocalSet {
            words: vec![u64::from(mask)],
        };
        set.trim();
        set
    }

    /// Adds local `i`.
    pub fn insert(&mut self, i: u32) {
        let word = i as usize / 64;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (i % 64);
    }

    /// Adds every local of `other`.
    pub fn union_with(&mut self, other: &LocalSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }

    /// Removes every local of `other`.
    pub fn remove_all(&mut self, other: &LocalSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= !o;
        }
        self.trim();
    }

    /// Its locals below `n`.
    pub fn below(mut self, n: usize) -> Self {
        self.words.truncate(n.div_ceil(64));
        if let Some(last) = self.words.get_mut(n / 64) {
            *last &= (1 << (n % 64)) - 1;
        }
        self.trim();
        self
    }

    /// Its locals, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word & (1 << b) != 0)
                .map(move |b| (w * 64 + b) as u32)
        })
    }

    /// How many locals it holds.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether it holds no local.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn trim(&mut self) {
        while self.words.last() == Some(&0) {
            self.words.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LocalSet;

    #[test]
    fn sets_of_any_size_compare_by_their_locals() {
        let mut a = LocalSet::first(70);
        assert_eq!(a.len(), 70);
        assert_eq!(a.iter().last(), Some(69));
        a.remove_all(&LocalSet::first(64));
        assert_eq!(a.iter().collect::<Vec<_>>(), (64..70).collect::<Vec<_>>());
        let mut b = LocalSet::default();
        for i in 64..70 {
            b.insert(i);
        }
        assert_eq!(a, b);
        b.insert(200);
        assert_ne!(a, b);
        assert_eq!(b.clone().below(100), a);
        a.union_with(&LocalSet::from_mask(0b101));
        assert_eq!(a.iter().take(2).collect::<Vec<_>>(), [0, 2]);
        a.remove_all(&LocalSet::first(300));
        assert!(a.is_empty());
        assert_eq!(a, LocalSet::default());
        assert_eq!(LocalSet::from_mask(0), LocalSet::default());
    }
}
