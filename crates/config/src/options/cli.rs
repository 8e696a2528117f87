//! Parsers for k6's command-line flag values, for the CLI to fill a layer.

use super::summary::check_trend_stat;
use super::SYSTEM_TAGS;

/// `--tag name=value`, with k6's messages.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    if text.is_empty() {
        return Err("error parsing tag '': invalid tag, empty string".to_owned());
    }
    match text.find('=') {
        Some(0) => Err(format!(
            "error parsing tag '{text}': invalid tag, empty name"
        )),
        Some(i) if i < text.len() - 1 => Ok((text[..i].to_owned(), text[i + 1..].to_owned())),
        _ => Err(format!(
            "error parsing tag '{text}': invalid tag, empty value"
        )),
    }
}

/// `-e NAME=value` (a missing `=` means an empty value); names must look
/// like `[a-zA-Z_][a-zA-Z0-9_]*`, as in k6.
pub fn parse_env_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').unwrap_or((text, ""));
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok((name.to_owned(), value.to_owned()))
    } else {
        Err(format!("invalid environment variable name '{name}'"))
    }
}

/// `--summary-trend-stats avg,p(95)`.
pub fn parse_trend_stats(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(|s| check_trend_stat(s).map(|()| s.to_owned()))
        .collect()
}

/// `--system-tags url,method`.
pub fn parse_system_tags(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(|tag| {
            if SYSTEM_TAGS.contains(&tag) {
                Ok(tag.to_owned())
            } else {
                Err(format!("unknown system tag '{tag}'"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_like_k6() {
        assert_eq!(parse_tag("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(
            parse_tag(""),
            Err("error parsing tag '': invalid tag, empty string".into())
        );
        assert_eq!(
            parse_tag("=b"),
            Err("error parsing tag '=b': invalid tag, empty name".into())
        );
        assert_eq!(
            parse_tag("a="),
            Err("error parsing tag 'a=': invalid tag, empty value".into())
        );
        assert_eq!(
            parse_tag("a"),
            Err("error parsing tag 'a': invalid tag, empty value".into())
        );
        assert_eq!(parse_env_var("A_1=x=y"), Ok(("A_1".into(), "x=y".into())));
        assert_eq!(parse_env_var("FLAG"), Ok(("FLAG".into(), String::new())));
        assert_eq!(
            parse_env_var("1A=x"),
            Err("invalid environment variable name '1A'".into())
        );
        assert_eq!(
            parse_trend_stats("avg,p(99)"),
            Ok(vec!["avg".into(), "p(99)".into()])
        );
        assert!(parse_trend_stats("avg,foo").is_err());
        assert!(parse_system_tags("url,bogus").is_err());
    }
}
