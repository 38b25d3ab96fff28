//! Who may read what. The one place access to a health book is decided (the
//! clinician, consent and break-glass rules of a later issue join it here).

/// A person opens their own book and the books of the persons they are guardian of.
pub fn may_open_book(viewer: i64, owner: i64, active_wards: &[i64]) -> bool {
    viewer == owner || active_wards.contains(&owner)
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_book_and_wards_only() {
        assert!(super::may_open_book(1, 1, &[]));
        assert!(super::may_open_book(1, 2, &[2, 3]));
        assert!(!super::may_open_book(1, 4, &[2, 3]));
        assert!(!super::may_open_book(2, 1, &[]));
    }
}
