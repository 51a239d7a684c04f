//! Text compared as words: without case, accents or punctuation, so that "SANGRANDO!!"
//! reads "sangrando" and "García" reads "garcia".

/// Lower-case words without accents, joined by single spaces, with a space at each
/// end so that a phrase is found as whole words.
pub fn normalise(text: &str) -> String {
    let mut out = String::from(" ");
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            // "can't" and "cant" read alike.
            '\'' | '’' => continue,
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        if c != ' ' || !out.ends_with(' ') {
            out.push(c);
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// The words of `text`, compared as [`normalise`] compares them.
pub fn words(text: &str) -> Vec<String> {
    normalise(text)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The most distinct words of one message kept for search.
const MOST_SEARCHABLE: usize = 200;

/// The distinct words of `text` a search may find it by: two characters or more, at
/// most [`MOST_SEARCHABLE`], in the order they first appear.
pub fn searchable(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in words(text) {
        if word.chars().count() >= 2 && word.chars().count() <= 40 && !found.contains(&word) {
            found.push(word);
            if found.len() == MOST_SEARCHABLE {
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searchable_words_are_distinct_and_not_single_letters() {
        assert_eq!(
            searchable("C. Still BLEEDING, still bleeding: ¿sangrado?"),
            ["still", "bleeding", "sangrado"]
        );
        assert!(searchable("a b c").is_empty());
        assert_eq!(searchable(&"word ".repeat(500)).len(), 1);
    }

    #[test]
    fn words_lose_case_accents_and_punctuation() {
        assert_eq!(normalise("SANGRANDO!!  ¿Qué?"), " sangrando que ");
        assert_eq!(words("María-José  García"), ["maria", "jose", "garcia"]);
        assert_eq!(words("can't"), ["cant"]);
        assert_eq!(normalise("  ¡Sí, CIRUGÍA!  "), " si cirugia ");
        assert_eq!(normalise(""), " ");
        assert!(words(" ,. ").is_empty());
    }
}
