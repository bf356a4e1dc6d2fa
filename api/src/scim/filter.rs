//! SCIM list filters (RFC 7644 §3.4.2.2): the subset identity providers send when they
//! look a resource up before provisioning it.
//!
//! Rules:
//! - A comparison is `<attribute> eq "<string>"`; `eq` is the only operator supported.
//! - Attributes: `userName`, `externalId`, `displayName`, `id` and `emails.value`, in any
//!   letter case, optionally prefixed by the core User or Group schema URN.
//! - The value is a JSON string literal (escapes such as `\"`, `\\`, `\n`, `\u00e9`).
//! - Comparisons combine with `and` and `or` (any letter case; `and` binds tighter) and
//!   group with parentheses, at most 32 deep. Whitespace between tokens is free.
//! - Empty input, input over 4,096 bytes and anything left over after a complete filter
//!   are errors.
use std::fmt;

/// Longest filter accepted, in bytes.
const MAX_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted.
const MAX_DEPTH: usize = 32;
/// Schema URN prefixes an attribute name may carry.
const SCHEMA_PREFIXES: [&str; 2] =
    ["urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:core:2.0:Group:"];
/// SCIM comparison operators other than `eq`, named in the error rather than called unknown.
const UNSUPPORTED_OPERATORS: [&str; 9] = ["ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"];

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// The attribute has a value equal to `value`.
    Eq { attr: Attr, value: String },
    /// Both sides match.
    And(Box<Filter>, Box<Filter>),
    /// Either side matches.
    Or(Box<Filter>, Box<Filter>),
}

/// An attribute a filter may compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    UserName,
    ExternalId,
    DisplayName,
    Id,
    /// `emails.value`: any of the resource's email addresses.
    EmailValue,
    /// `members.value`: the ids of a group's members.
    MemberValue,
}

impl Attr {
    /// Canonical attribute names, matched without regard to letter case.
    const NAMES: [(&'static str, Attr); 6] = [
        ("userName", Attr::UserName),
        ("externalId", Attr::ExternalId),
        ("displayName", Attr::DisplayName),
        ("id", Attr::Id),
        ("emails.value", Attr::EmailValue),
        ("members.value", Attr::MemberValue),
    ];

    /// The attribute `name` refers to, with or without a core schema URN prefix.
    fn from_name(name: &str) -> Option<Attr> {
        let name =
            SCHEMA_PREFIXES.iter().find_map(|prefix| strip_prefix_ignore_ascii_case(name, prefix)).unwrap_or(name);
        Self::NAMES.iter().find(|(canonical, _)| canonical.eq_ignore_ascii_case(name)).map(|&(_, attr)| attr)
    }

    /// Whether values compare exactly; `userName` and email addresses ignore letter case.
    pub fn is_case_exact(self) -> bool {
        !matches!(self, Attr::UserName | Attr::EmailValue)
    }
}

/// Why a filter was rejected; the message is fit to return to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl FilterError {
    fn new(message: impl Into<String>) -> Self {
        FilterError(message.into())
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// Parses a filter expression (see the module docs for what is accepted).
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError(format!("filter is longer than {MAX_LEN} bytes")));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(FilterError::new("filter is empty"));
    }
    let mut parser = Parser { tokens: tokens.into_iter().peekable(), depth: 0 };
    let filter = parser.or_expr()?;
    match parser.tokens.next() {
        None => Ok(filter),
        Some(Token::Close) => Err(FilterError::new("unbalanced `)` in filter")),
        Some(token) => Err(FilterError(format!("unexpected {} after a complete filter", token.describe()))),
    }
}

impl Filter {
    /// Whether a resource matches; `get` gives the resource's values for an attribute
    /// (none, one, or several as with emails). An `eq` holds when any value is equal.
    pub fn matches(&self, get: &dyn Fn(&Attr) -> Vec<String>) -> bool {
        match self {
            Filter::Eq { attr, value } => get(attr).iter().any(|candidate| {
                if attr.is_case_exact() {
                    candidate == value
                } else {
                    eq_ignore_case(candidate, value)
                }
            }),
            Filter::And(left, right) => left.matches(get) && right.matches(get),
            Filter::Or(left, right) => left.matches(get) || right.matches(get),
        }
    }
}

/// Unicode-aware case-insensitive equality.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// `s` without `prefix`, if it starts with it in any ASCII letter case.
fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open,
    Close,
    /// An attribute name, operator or keyword.
    Word(&'a str),
    /// A decoded string literal.
    Str(String),
}

impl Token<'_> {
    fn describe(&self) -> String {
        match self {
            Token::Open => "`(`".to_owned(),
            Token::Close => "`)`".to_owned(),
            Token::Word(word) => format!("`{word}`"),
            Token::Str(_) => "a string value".to_owned(),
        }
    }
}

/// Splits `input` into tokens: parentheses, string literals, and words (runs of anything
/// else up to whitespace, a parenthesis or a quote).
fn tokenize(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut tokens = Vec::new();
    let mut rest = input.trim_start();
    while let Some(first) = rest.chars().next() {
        let len = match first {
            '(' => {
                tokens.push(Token::Open);
                1
            }
            ')' => {
                tokens.push(Token::Close);
                1
            }
            '"' => {
                let len = string_literal_len(rest)?;
                tokens.push(Token::Str(decode_string(&rest[..len])?));
                len
            }
            _ => {
                let len = rest.find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"')).unwrap_or(rest.len());
                tokens.push(Token::Word(&rest[..len]));
                len
            }
        };
        rest = rest[len..].trim_start();
    }
    Ok(tokens)
}

/// Length in bytes, both quotes included, of the string literal `s` starts with.
fn string_literal_len(s: &str) -> Result<usize, FilterError> {
    let mut escaped = false;
    // Quotes and backslashes are ASCII, so they never occur inside a multi-byte character.
    for (i, byte) in s.bytes().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Ok(i + 1),
            _ => {}
        }
    }
    Err(FilterError::new("unterminated string value in filter"))
}

/// The text of a JSON string literal, escapes resolved.
fn decode_string(literal: &str) -> Result<String, FilterError> {
    serde_json::from_str(literal).map_err(|e| FilterError(format!("invalid string value {literal}: {e}")))
}

/// Recursive-descent parser: `or_expr := and_expr ("or" and_expr)*`,
/// `and_expr := operand ("and" operand)*`, `operand := "(" or_expr ")" | comparison`.
struct Parser<'a> {
    tokens: std::iter::Peekable<std::vec::IntoIter<Token<'a>>>,
    /// Parentheses currently open.
    depth: usize,
}

impl Parser<'_> {
    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.operand()?;
        while self.eat_keyword("and") {
            let right = self.operand()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn operand(&mut self) -> Result<Filter, FilterError> {
        match self.tokens.next() {
            Some(Token::Open) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(FilterError(format!("filter nests parentheses more than {MAX_DEPTH} deep")));
                }
                let inner = self.or_expr()?;
                match self.tokens.next() {
                    Some(Token::Close) => {}
                    Some(token) => return Err(FilterError(format!("expected `)`, found {}", token.describe()))),
                    None => return Err(FilterError::new("unbalanced `(` in filter: missing `)`")),
                }
                self.depth -= 1;
                Ok(inner)
            }
            Some(Token::Word(name)) => self.comparison(name),
            Some(token) => Err(FilterError(format!("expected an attribute name or `(`, found {}", token.describe()))),
            None => Err(FilterError::new("filter ends where an attribute name or `(` was expected")),
        }
    }

    /// The rest of `<name> eq "<value>"`, after the name.
    fn comparison(&mut self, name: &str) -> Result<Filter, FilterError> {
        let attr =
            Attr::from_name(name).ok_or_else(|| FilterError(format!("unsupported filter attribute `{name}`")))?;
        let operator = match self.tokens.next() {
            Some(Token::Word(operator)) => operator,
            Some(token) => {
                return Err(FilterError(format!("expected an operator after `{name}`, found {}", token.describe())))
            }
            None => return Err(FilterError(format!("filter ends where an operator after `{name}` was expected"))),
        };
        if !operator.eq_ignore_ascii_case("eq") {
            let message = if UNSUPPORTED_OPERATORS.iter().any(|known| known.eq_ignore_ascii_case(operator)) {
                format!("unsupported filter operator `{operator}`: only `eq` is supported")
            } else {
                format!("unknown filter operator `{operator}`")
            };
            return Err(FilterError(message));
        }
        match self.tokens.next() {
            Some(Token::Str(value)) => Ok(Filter::Eq { attr, value }),
            Some(token) => {
                Err(FilterError(format!("expected a double-quoted string after `eq`, found {}", token.describe())))
            }
            None => Err(FilterError::new("filter ends where a string after `eq` was expected")),
        }
    }

    /// Consumes the next token if it is `keyword`, in any ASCII letter case.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        self.tokens.next_if(|token| matches!(token, Token::Word(word) if word.eq_ignore_ascii_case(keyword))).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attr: Attr, value: &str) -> Filter {
        Filter::Eq { attr, value: value.to_owned() }
    }

    fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }

    fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }

    fn error(input: &str) -> String {
        match parse(input) {
            Err(FilterError(message)) => message,
            Ok(filter) => panic!("{input:?} parsed as {filter:?}"),
        }
    }

    #[test]
    fn parses_simple_equality() {
        assert_eq!(parse(r#"displayName eq "Engineering""#), Ok(eq(Attr::DisplayName, "Engineering")));
        assert_eq!(parse(r#"id eq "usr_01""#), Ok(eq(Attr::Id, "usr_01")));
        assert_eq!(parse(r#"emails.value eq "a@x.io""#), Ok(eq(Attr::EmailValue, "a@x.io")));
    }

    #[test]
    fn parses_okta_user_lookup() {
        assert_eq!(parse(r#"userName eq "ada@example.com""#), Ok(eq(Attr::UserName, "ada@example.com")));
    }

    #[test]
    fn parses_entra_external_id_lookup() {
        assert_eq!(parse(r#"externalId eq "0a1b""#), Ok(eq(Attr::ExternalId, "0a1b")));
    }

    #[test]
    fn accepts_core_schema_urn_prefixes() {
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada""#),
            Ok(eq(Attr::UserName, "ada"))
        );
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Ops""#),
            Ok(eq(Attr::DisplayName, "Ops"))
        );
        assert_eq!(
            parse(r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:emails.value eq "a@x""#),
            Ok(eq(Attr::EmailValue, "a@x"))
        );
    }

    #[test]
    fn rejects_other_schema_urns_and_bare_prefixes() {
        assert!(error(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#)
            .contains("unsupported filter attribute"));
        assert!(error(r#"urn:ietf:params:scim:schemas:core:2.0:User: eq "1""#).contains("unsupported filter attribute"));
    }

    #[test]
    fn attribute_names_and_operators_ignore_case() {
        for input in [r#"USERNAME eq "a""#, r#"username EQ "a""#, r#"UserName Eq "a""#, r#"uSeRnAmE eQ "a""#] {
            assert_eq!(parse(input), Ok(eq(Attr::UserName, "a")), "{input}");
        }
        assert_eq!(parse(r#"EXTERNALID eq "b""#), Ok(eq(Attr::ExternalId, "b")));
        assert_eq!(parse(r#"Emails.Value eq "c""#), Ok(eq(Attr::EmailValue, "c")));
        assert_eq!(parse(r#"ID eq "d""#), Ok(eq(Attr::Id, "d")));
    }

    #[test]
    fn values_keep_their_case() {
        assert_eq!(parse(r#"userName eq "Ada@Example.COM""#), Ok(eq(Attr::UserName, "Ada@Example.COM")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (a, b, c) = (eq(Attr::Id, "a"), eq(Attr::Id, "b"), eq(Attr::Id, "c"));
        assert_eq!(parse(r#"id eq "a" or id eq "b" and id eq "c""#), Ok(or(a.clone(), and(b.clone(), c.clone()))));
        assert_eq!(parse(r#"id eq "a" and id eq "b" or id eq "c""#), Ok(or(and(a, b), c)));
    }

    #[test]
    fn chains_associate_to_the_left() {
        let (a, b, c) = (eq(Attr::Id, "a"), eq(Attr::Id, "b"), eq(Attr::Id, "c"));
        assert_eq!(parse(r#"id eq "a" or id eq "b" or id eq "c""#), Ok(or(or(a.clone(), b.clone()), c.clone())));
        assert_eq!(parse(r#"id eq "a" and id eq "b" and id eq "c""#), Ok(and(and(a, b), c)));
    }

    #[test]
    fn logical_keywords_ignore_case() {
        let (a, b, c) = (eq(Attr::Id, "a"), eq(Attr::Id, "b"), eq(Attr::Id, "c"));
        assert_eq!(parse(r#"id eq "a" OR id eq "b" And id eq "c""#), Ok(or(a, and(b, c))));
    }

    #[test]
    fn parentheses_group() {
        let (a, b, c) = (eq(Attr::Id, "a"), eq(Attr::Id, "b"), eq(Attr::Id, "c"));
        assert_eq!(parse(r#"(id eq "a" or id eq "b") and id eq "c""#), Ok(and(or(a.clone(), b.clone()), c.clone())));
        assert_eq!(parse(r#"id eq "a" and (id eq "b" or id eq "c")"#), Ok(and(a.clone(), or(b, c))));
        assert_eq!(parse(r#"((((id eq "a"))))"#), Ok(a));
    }

    #[test]
    fn whitespace_is_free() {
        let expected = and(eq(Attr::UserName, "a"), eq(Attr::Id, "b"));
        assert_eq!(parse("  \t(userName\neq\r\n\"a\")  and\t(id eq \"b\")\n"), Ok(expected.clone()));
        assert_eq!(parse(r#"(userName eq"a")and(id eq"b")"#), Ok(expected));
    }

    #[test]
    fn decodes_string_escapes() {
        assert_eq!(parse(r#"displayName eq "say \"hi\"""#), Ok(eq(Attr::DisplayName, r#"say "hi""#)));
        assert_eq!(parse(r#"displayName eq "back\\slash""#), Ok(eq(Attr::DisplayName, r"back\slash")));
        assert_eq!(parse(r#"displayName eq "two\nlines""#), Ok(eq(Attr::DisplayName, "two\nlines")));
        assert_eq!(parse(r#"displayName eq "caf\u00e9""#), Ok(eq(Attr::DisplayName, "café")));
        assert_eq!(parse(r#"displayName eq "\ud83d\ude00""#), Ok(eq(Attr::DisplayName, "😀")));
        assert_eq!(parse(r#"displayName eq "a\/b""#), Ok(eq(Attr::DisplayName, "a/b")));
        assert_eq!(parse(r#"displayName eq """#), Ok(eq(Attr::DisplayName, "")));
        assert_eq!(parse(r#"displayName eq "Zoë 東京""#), Ok(eq(Attr::DisplayName, "Zoë 東京")));
    }

    #[test]
    fn syntax_inside_strings_is_text() {
        assert_eq!(parse(r#"displayName eq "a) or (id eq \"b\"""#), Ok(eq(Attr::DisplayName, r#"a) or (id eq "b""#)));
    }

    #[test]
    fn rejects_bad_string_literals() {
        assert!(error(r#"userName eq "open"#).contains("unterminated"));
        assert!(error(r#"userName eq "ends with backslash\""#).contains("unterminated"));
        assert!(error(r#"userName eq "bad \x escape""#).contains("invalid string value"));
        assert!(error(r#"userName eq "\u12""#).contains("invalid string value"));
        assert!(error("userName eq \"raw\nnewline\"").contains("invalid string value"));
    }

    #[test]
    fn rejects_empty_input() {
        assert_eq!(error(""), "filter is empty");
        assert_eq!(error(" \t\n "), "filter is empty");
    }

    #[test]
    fn rejects_trailing_garbage() {
        assert!(error(r#"userName eq "a" extra"#).contains("`extra` after a complete filter"));
        assert!(error(r#"userName eq "a" "b""#).contains("a string value after a complete filter"));
        assert!(error(r#"userName eq "a" (id eq "b")"#).contains("`(` after a complete filter"));
    }

    #[test]
    fn rejects_unbalanced_parentheses() {
        assert!(error(r#"(userName eq "a""#).contains("missing `)`"));
        assert!(error(r#"((userName eq "a")"#).contains("missing `)`"));
        assert!(error(r#"userName eq "a")"#).contains("unbalanced `)`"));
        assert!(error(r#"(userName eq "a"))"#).contains("unbalanced `)`"));
        assert!(error(r#"(userName eq "a" id"#).contains("expected `)`, found `id`"));
        assert!(error("()").contains("found `)`"));
        assert!(error(")").contains("found `)`"));
        assert!(error("(").contains("filter ends"));
    }

    #[test]
    fn rejects_unsupported_operators_by_name() {
        for operator in ["co", "sw", "ew", "ne", "gt", "ge", "lt", "le", "CO", "Sw"] {
            let message = error(&format!(r#"userName {operator} "a""#));
            assert!(message.contains(&format!("unsupported filter operator `{operator}`")), "{message}");
            assert!(message.contains("only `eq`"), "{message}");
        }
        assert!(error("userName pr").contains("unsupported filter operator `pr`"));
    }

    #[test]
    fn rejects_unknown_operators_and_attributes() {
        assert_eq!(error(r#"userName equals "a""#), "unknown filter operator `equals`");
        assert_eq!(error(r#"title eq "a""#), "unsupported filter attribute `title`");
        assert!(error(r#"emails[type eq "work"].value eq "a""#).contains("unsupported filter attribute"));
        assert!(error(r#"not (userName eq "a")"#).contains("unsupported filter attribute `not`"));
    }

    #[test]
    fn rejects_incomplete_comparisons() {
        assert!(error("userName").contains("operator after `userName` was expected"));
        assert!(error(r#"userName "a""#).contains("expected an operator after `userName`, found a string value"));
        assert!(error("userName eq").contains("string after `eq` was expected"));
        assert!(error("userName eq true").contains("expected a double-quoted string after `eq`, found `true`"));
        assert!(error("userName eq 42").contains("found `42`"));
        assert!(error("userName eq (").contains("found `(`"));
        assert!(error(r#""a" eq "a""#).contains("expected an attribute name or `(`, found a string value"));
    }

    #[test]
    fn rejects_dangling_logical_operators() {
        assert!(error(r#"userName eq "a" and"#).contains("filter ends"));
        assert!(error(r#"userName eq "a" or"#).contains("filter ends"));
        assert!(error(r#"or userName eq "a""#).contains("unsupported filter attribute `or`"));
        assert!(error(r#"userName eq "a" and or id eq "b""#).contains("unsupported filter attribute `or`"));
    }

    #[test]
    fn limits_input_length() {
        let fixed = r#"userName eq """#.len();
        let longest = format!(r#"userName eq "{}""#, "a".repeat(MAX_LEN - fixed));
        assert_eq!(longest.len(), MAX_LEN);
        assert!(parse(&longest).is_ok());
        let too_long = format!(r#"userName eq "{}""#, "a".repeat(MAX_LEN - fixed + 1));
        assert!(error(&too_long).contains("longer than 4096 bytes"));
    }

    #[test]
    fn limits_nesting_depth() {
        let nested = |depth: usize| format!(r#"{}id eq "a"{}"#, "(".repeat(depth), ")".repeat(depth));
        assert_eq!(parse(&nested(MAX_DEPTH)), Ok(eq(Attr::Id, "a")));
        assert!(error(&nested(MAX_DEPTH + 1)).contains("more than 32 deep"));
        // Depth counts open parentheses, not how many groups appear in total.
        let siblings = vec![r#"(id eq "a")"#; 40].join(" or ");
        assert!(parse(&siblings).is_ok());
    }

    #[test]
    fn error_displays_its_message() {
        let err = parse("").unwrap_err();
        assert_eq!(err.to_string(), "filter is empty");
    }

    /// Values of a sample user: one userName, two emails, no externalId.
    fn sample(attr: &Attr) -> Vec<String> {
        let values: &[&str] = match attr {
            Attr::UserName => &["Ada@Example.com"],
            Attr::EmailValue => &["ada@example.com", "ADA@work.example"],
            Attr::DisplayName => &["Ada Lovelace"],
            Attr::Id => &["usr_01"],
            Attr::ExternalId | Attr::MemberValue => &[],
        };
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn matches(input: &str) -> bool {
        parse(input).unwrap().matches(&sample)
    }

    #[test]
    fn username_and_emails_match_ignoring_case() {
        assert!(matches(r#"userName eq "ada@example.com""#));
        assert!(matches(r#"userName eq "ADA@EXAMPLE.COM""#));
        assert!(!matches(r#"userName eq "ada@example.org""#));
        assert!(matches(r#"emails.value eq "ada@work.example""#));
        assert!(matches(r#"emails.value eq "Ada@Example.Com""#));
        assert!(!matches(r#"emails.value eq "bob@example.com""#));
    }

    #[test]
    fn case_insensitive_matching_handles_non_ascii() {
        let filter = parse(r#"userName eq "ÉLODIE@EXAMPLE.COM""#).unwrap();
        assert!(filter.matches(&|_| vec!["élodie@example.com".to_owned()]));
    }

    #[test]
    fn other_attributes_match_exactly() {
        assert!(matches(r#"displayName eq "Ada Lovelace""#));
        assert!(!matches(r#"displayName eq "ada lovelace""#));
        assert!(matches(r#"id eq "usr_01""#));
        assert!(!matches(r#"id eq "USR_01""#));
        let filter = parse(r#"externalId eq "0a1b""#).unwrap();
        assert!(filter.matches(&|_| vec!["0a1b".to_owned()]));
        assert!(!filter.matches(&|_| vec!["0A1B".to_owned()]));
    }

    #[test]
    fn attributes_without_values_never_match() {
        assert!(!matches(r#"externalId eq """#));
        assert!(!matches(r#"externalId eq "0a1b""#));
    }

    #[test]
    fn logical_operators_combine_matches() {
        assert!(matches(r#"userName eq "ada@example.com" and id eq "usr_01""#));
        assert!(!matches(r#"userName eq "ada@example.com" and id eq "usr_02""#));
        assert!(matches(r#"externalId eq "x" or id eq "usr_01""#));
        assert!(!matches(r#"externalId eq "x" or id eq "usr_02""#));
        assert!(matches(r#"id eq "usr_01" or id eq "x" and id eq "y""#));
        assert!(!matches(r#"(id eq "usr_01" or id eq "x") and id eq "y""#));
    }

    #[test]
    fn matches_asks_only_for_needed_attributes() {
        let filter = parse(r#"id eq "usr_01""#).unwrap();
        let get = |attr: &Attr| {
            assert_eq!(*attr, Attr::Id);
            vec!["usr_01".to_owned()]
        };
        assert!(filter.matches(&get));
    }

    #[test]
    fn case_exactness_per_attribute() {
        assert!(!Attr::UserName.is_case_exact());
        assert!(!Attr::EmailValue.is_case_exact());
        assert!(Attr::ExternalId.is_case_exact());
        assert!(Attr::DisplayName.is_case_exact());
        assert!(Attr::Id.is_case_exact());
    }
}
