//! Characters that print as nothing, for the values that must not hide
//! them: an email with a zero-width space in it looks like another account's,
//! and a title of zero-width spaces looks empty. Two small tables from the
//! Unicode Character Database (15.1), as std has no general category for
//! `char` and no crate is worth these lines.

/// General category Cf (format): zero-width spaces and joiners, bidi
/// controls, the byte-order mark, tags, and a few visible marks that
/// prepend to numbers.
const FORMAT: &[(char, char)] = &[
    ('\u{00ad}', '\u{00ad}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061c}', '\u{061c}'),
    ('\u{06dd}', '\u{06dd}'),
    ('\u{070f}', '\u{070f}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08e2}', '\u{08e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

/// Default_Ignorable_Code_Point: what renders as nothing unless a font
/// gives it a meaning (most of Cf, plus fillers and variation selectors).
const IGNORABLE: &[(char, char)] = &[
    ('\u{00ad}', '\u{00ad}'),
    ('\u{034f}', '\u{034f}'),
    ('\u{061c}', '\u{061c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

fn in_table(table: &[(char, char)], c: char) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` is a format character (general category Cf).
pub fn is_format(c: char) -> bool {
    in_table(FORMAT, c)
}

/// Whether `c` shows no glyph of its own: whitespace (Zs, Zl, Zp and the
/// whitespace controls), a control (Cc), or a default-ignorable character
/// (zero-width, bidi, fillers, variation selectors, tags).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || c.is_control() || in_table(IGNORABLE, c)
}

/// Whether `c`, invisible, belongs to the character before it: a variation
/// selector (`❤` + U+FE0F is the red heart) or a tag (the flags of
/// Scotland or Wales end in tags), so a text may end in one.
pub fn modifies_previous(c: char) -> bool {
    matches!(c, '\u{fe00}'..='\u{fe0f}' | '\u{e0020}'..='\u{e007f}' | '\u{e0100}'..='\u{e01ef}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_disjoint_for_the_binary_search() {
        for table in [FORMAT, IGNORABLE] {
            assert!(table.iter().all(|(lo, hi)| lo <= hi));
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
        }
    }

    #[test]
    fn zero_width_bidi_and_fillers_are_invisible_letters_are_not() {
        for c in [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{00ad}',
            '\u{202e}',
            '\u{2066}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{e0041}',
            '\u{e0100}',
            '\u{2028}',
            '\u{2029}',
            '\u{0085}',
            '\u{0000}',
            ' ',
            '\u{3000}',
        ] {
            assert!(is_invisible(c), "{:04x}", c as u32);
        }
        for c in ['a', 'é', '€', '\u{2764}', '\u{1f3f4}', '\u{0600}', '-', '.'] {
            assert!(!is_invisible(c), "{:04x}", c as u32);
        }
        assert!(is_format('\u{0600}') && is_format('\u{200b}') && is_format('\u{e007f}'));
        assert!(!is_format('\u{3164}') && !is_format('\u{fe0f}') && !is_format('a'));
    }
}
