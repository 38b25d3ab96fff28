//! Vietnamese text helpers.

use unicode_normalization::UnicodeNormalization;

/// Accent-insensitive search key: NFD, drop combining marks, đ → d, lower case,
/// whitespace (NBSP included) collapsed. "Nguyễn Văn Đức" → "nguyen van duc".
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds_vietnamese() {
        assert_eq!(super::fold("  Nguyễn\u{a0}Văn   ĐỨC "), "nguyen van duc");
        assert_eq!(super::fold("Hoà"), super::fold("Hòa"));
    }
}
