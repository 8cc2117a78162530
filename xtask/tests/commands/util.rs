//! Helpers for the command tests: the workspace, throwaway copies of it, the
//! xtask binary, and small strict readers for JSON and XML so the formats can
//! be validated without a dependency.

use assert_cmd::Command;
use grader::manifest::Manifest;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

pub fn manifest() -> &'static Manifest {
    static M: OnceLock<Manifest> = OnceLock::new();
    M.get_or_init(|| Manifest::load(&root()).expect("exercises.toml parses"))
}

/// The xtask binary with a target directory of its own (`name` under
/// target/), so that its builds never wait for the outer cargo's lock nor
/// replace a binary another test is about to run.
pub fn xtask(target: &str) -> Command {
    let mut command = Command::cargo_bin("xtask").expect("the xtask binary is built");
    command.env("CARGO_TARGET_DIR", root().join("target").join(target));
    command.env("NO_COLOR", "1");
    command
}

/// Copies the workspace (without `target/` and `.git`) into `to`.
pub fn copy_workspace(to: &Path) {
    copy_dir(&root(), to, &|rel| rel == Path::new("target") || rel.ends_with(".git"));
}

pub fn copy_dir(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
    fn walk(base: &Path, rel: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
        std::fs::create_dir_all(to.join(rel)).unwrap();
        for entry in std::fs::read_dir(base.join(rel)).unwrap().flatten() {
            let rel = rel.join(entry.file_name());
            if skip(&rel) {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(base, &rel, to, skip);
            } else {
                std::fs::copy(base.join(&rel), to.join(&rel)).unwrap();
            }
        }
    }
    walk(from, Path::new(""), to, skip);
}

/// The points a grade can actually give here: the total minus the points of
/// tests this machine skips (they earn nothing, by design).
pub fn reachable(json: &Value) -> i64 {
    let mut total = 0;
    for exercise in json.get("exercises").array() {
        for test in exercise.get("tests").array() {
            if test.get("status").str() != "skipped" {
                total += test.get("max_points").int();
            }
        }
    }
    total
}

// ---------------------------------------------------------------- JSON

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Obj(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no field `{key}` in {self:?}")),
            _ => panic!("`{key}` looked up in a non-object {self:?}"),
        }
    }
    pub fn str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            _ => panic!("expected a string, found {self:?}"),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Value::Num(n) if n.fract() == 0.0 => *n as i64,
            _ => panic!("expected an integer, found {self:?}"),
        }
    }
    pub fn num(&self) -> f64 {
        match self {
            Value::Num(n) => *n,
            _ => panic!("expected a number, found {self:?}"),
        }
    }
    pub fn array(&self) -> &[Value] {
        match self {
            Value::Arr(items) => items,
            _ => panic!("expected an array, found {self:?}"),
        }
    }
}

/// Parses one JSON document (RFC 8259), strictly: anything after it is an error.
pub fn parse_json(text: &str) -> Result<Value, String> {
    let mut p = Json { s: text.as_bytes(), i: 0 };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("text after the document at byte {}", p.i));
    }
    Ok(v)
}

struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }
    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            None => self.err("unexpected end"),
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Value::Obj(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return self.err("expected `:`");
                    }
                    if fields.iter().any(|(k, _)| *k == key) {
                        return self.err(&format!("duplicate key {key}"));
                    }
                    fields.push((key, self.value()?));
                    self.ws();
                    if self.eat("}") {
                        return Ok(Value::Obj(fields));
                    }
                    if !self.eat(",") {
                        return self.err("expected `,` or `}`");
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Value::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(Value::Arr(items));
                    }
                    if !self.eat(",") {
                        return self.err("expected `,` or `]`");
                    }
                }
            }
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') if self.eat("true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(Value::Null),
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                let leading_zero = text.len() > 1 && text.starts_with('0') && text.as_bytes()[1].is_ascii_digit();
                let valid = !(text.is_empty() || text.starts_with('+') || text.starts_with('.') || leading_zero);
                match text.parse::<f64>() {
                    Ok(n) if valid => Ok(Value::Num(n)),
                    _ => self.err("expected a value"),
                }
            }
        }
    }
    fn string(&mut self) -> Result<String, String> {
        if !self.eat("\"") {
            return self.err("expected a string");
        }
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("string never closed");
            };
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("bad escape");
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4).unwrap_or(b"")).unwrap_or("");
                            let code = u32::from_str_radix(hex, 16).map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
                            self.i += 4;
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                c if c < 0x20 => return self.err("raw control character in a string"),
                c => out.push(c),
            }
        }
    }
}

// ---------------------------------------------------------------- XML

/// An XML element: name, attributes, child elements, and its own text
/// (unescaped, the pieces between its children joined).
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no attribute {name}", self.name))
    }
    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// Checks that `text` is a well-formed XML 1.0 document (declaration,
/// comments, one root, nested elements, quoted attributes, known entities,
/// no forbidden characters) and returns its root.
pub fn parse_xml(text: &str) -> Result<Element, String> {
    for c in text.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}');
        if !ok {
            return Err(format!("character U+{:04X} is not allowed in XML", c as u32));
        }
    }
    let mut rest = text;
    if let Some(after) = rest.strip_prefix("<?xml") {
        let end = after.find("?>").ok_or("unterminated declaration")?;
        rest = &after[end + 2..];
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let lt = rest.find('<');
        let text_part = &rest[..lt.unwrap_or(rest.len())];
        check_text(text_part)?;
        match stack.last_mut() {
            Some(open) => open.text.push_str(&unescape(text_part)),
            None if !text_part.trim().is_empty() => return Err(format!("text outside the root: {:?}", text_part.trim())),
            None => {}
        }
        let Some(lt) = lt else { break };
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            if after[..end].contains("--") || after[..end].ends_with('-') {
                return Err("`--` inside a comment".into());
            }
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unterminated end tag")?;
            let name = after[..end].trim();
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open.name != name {
                return Err(format!("</{name}> closes <{}>", open.name));
            }
            rest = &after[end + 1..];
            attach(&mut stack, &mut root, open)?;
        } else {
            let end = rest.find('>').ok_or("unterminated tag")?;
            let inner = &rest[1..end];
            let (inner, empty) = match inner.strip_suffix('/') {
                Some(i) => (i, true),
                None => (inner, false),
            };
            let element = parse_tag(inner)?;
            rest = &rest[end + 1..];
            if empty {
                attach(&mut stack, &mut root, element)?;
            } else {
                stack.push(element);
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{}> is never closed", open.name));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err("a second root element".into()),
    }
    Ok(())
}

fn parse_tag(inner: &str) -> Result<Element, String> {
    let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
    let name = &inner[..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c)) {
        return Err(format!("bad element name {name:?}"));
    }
    let mut attrs = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(format!("attribute without a value in <{name}>"))?;
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or(format!("unquoted attribute {key}"))?;
        let close = after[1..].find(quote).ok_or(format!("unterminated attribute {key}"))?;
        let value = &after[1..1 + close];
        if value.contains('<') {
            return Err(format!("`<` in attribute {key}"));
        }
        check_text(value)?;
        if attrs.iter().any(|(k, _)| *k == key) {
            return Err(format!("attribute {key} given twice"));
        }
        attrs.push((key, unescape(value)));
        rest = after[close + 2..].trim_start();
    }
    Ok(Element {
        name: name.to_string(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Every `&` starts a known entity or a character reference, and `]]>`
/// (which XML forbids in text) never appears.
fn check_text(text: &str) -> Result<(), String> {
    if text.contains("]]>") {
        return Err("`]]>` in text".into());
    }
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        rest = &rest[amp..];
        let end = rest.find(';').ok_or("`&` without `;`")?;
        let entity = &rest[1..end];
        let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity.strip_prefix("#x").is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
            || entity.strip_prefix('#').is_some_and(|d| d.parse::<u32>().is_ok());
        if !known {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &rest[end + 1..];
    }
    Ok(())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Standard base64 (RFC 4648) back to bytes.
pub fn unbase64(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if !text.len().is_multiple_of(4) {
        return Err("base64 length is not a multiple of 4".into());
    }
    let value = |c: u8| -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("{:?} is not base64", c as char)),
        } as u32)
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= if i < 4 - pad { value(*c)? } else { 0 } << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}
