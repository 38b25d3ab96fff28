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

/// Text joined from sentences, without the stray separators of the joining
/// ("ổn định.; Xuất viện" → "ổn định. Xuất viện").
pub fn tidy(s: &str) -> String {
    let mut t = s.trim().to_string();
    for (from, to) in [(".;", "."), (";;", ";"), (" ;", ";"), ("..", ".")] {
        while t.contains(from) {
            t = t.replace(from, to);
        }
    }
    t.trim_matches(|c: char| c == ';' || c.is_whitespace())
        .to_string()
}

/// The words of a text for search, lowercase, split at anything that is not a letter or
/// a digit ("I10," and "(I10)" are the word "i10"; "E78.5" stays one word).
fn words_of(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let inner_dot = c == '.'
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c) || inner_dot {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `needle` occurs in `hay` as consecutive words.
fn phrase_in(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// How well a text matches a query, word by word (never inside a word: "hong" does not
/// find "không"): `None` when a word of the query is not a word of the text; else a rank,
/// higher first: 3 the words together as typed, accents and all; 2 together without
/// accents; 1 each word as typed; 0 each word without accents. The last word of the query
/// may be the start of a word (typing "viêm hon" finds "viêm họng").
pub fn match_rank(text: &str, query: &str) -> Option<u8> {
    use unicode_normalization::UnicodeNormalization;
    let exact_text: Vec<String> = words_of(&text.nfc().collect::<String>());
    let exact_q: Vec<String> = words_of(&query.nfc().collect::<String>());
    if exact_q.is_empty() {
        return None;
    }
    let folded_text: Vec<String> = exact_text.iter().map(|w| fold(w)).collect();
    let folded_q: Vec<String> = exact_q.iter().map(|w| fold(w)).collect();
    let has = |hay: &[String], q: &[String]| {
        q.iter().enumerate().all(|(i, w)| {
            hay.iter().any(|h| {
                h == w || (i + 1 == q.len() && w.chars().count() >= 2 && h.starts_with(w.as_str()))
            })
        })
    };
    if !has(&folded_text, &folded_q) {
        return None;
    }
    Some(if phrase_in(&exact_text, &exact_q) {
        3
    } else if phrase_in(&folded_text, &folded_q) {
        2
    } else if has(&exact_text, &exact_q) {
        1
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_matches_words_and_ranks_accents() {
        use super::match_rank;
        // Not inside words.
        assert_eq!(match_rank("Viêm mũi dị ứng, không sốt", "viêm họng"), None);
        assert_eq!(match_rank("Bệnh nhân không sốt", "hong"), None);
        assert_eq!(match_rank("Viêm họng cấp", "viem hong"), Some(2));
        assert_eq!(match_rank("Viêm họng cấp", "viêm họng"), Some(3));
        assert_eq!(match_rank("Họng đỏ; viêm amidan", "viêm họng"), Some(1));
        assert_eq!(match_rank("Hồng cầu; viêm amidan", "viêm hong"), Some(0));
        // The last word may be typed in part; codes are words.
        assert!(match_rank("Viêm họng cấp", "viêm hon").is_some());
        assert!(match_rank("Tăng huyết áp (I10)", "i10").is_some());
        assert!(match_rank("Rối loạn lipid E78.5", "e78.5").is_some());
        assert_eq!(match_rank("anything", "  "), None);
    }

    #[test]
    fn folds_vietnamese() {
        assert_eq!(super::fold("  Nguyễn\u{a0}Văn   ĐỨC "), "nguyen van duc");
        assert_eq!(super::fold("Hoà"), super::fold("Hòa"));
    }
}
