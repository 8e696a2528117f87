//! Native part of `k6/html`: a parsed document kept on the Rust side.
//!
//! `parseHTML` parses once (html5ever through scraper) into a [`Doc`]; a
//! JavaScript `Selection` holds the document and a list of node numbers,
//! which are the nodes' positions in document order. Every traversal
//! (`find`, `parents`, `next`...) runs here on those numbers with goquery's
//! semantics (k6 wraps goquery): results keep the order goquery gives them
//! and carry no duplicates.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rquickjs::class::Trace;
use rquickjs::{Class, Ctx, JsLifetime, Object, Result};
use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};

use super::set_fn;
use crate::state::VuState;

/// "No node" in the navigation tables.
const NONE: u32 = u32::MAX;

/// A parsed document with its nodes numbered in document order.
pub(crate) struct Doc {
    html: Html,
    nodes: Vec<ego_tree::NodeId>,
    parent: Vec<u32>,
    prev: Vec<u32>,
    /// One past the last descendant: node `n`'s subtree is `n..end[n]`.
    end: Vec<u32>,
}

impl Doc {
    pub(crate) fn parse(source: &str) -> Self {
        let html = Html::parse_document(source);
        let mut nodes = Vec::new();
        let mut parent = Vec::new();
        let mut prev = Vec::new();
        let mut end = Vec::new();
        // Iterative pre-order walk; `stack` holds (node number, last child seen).
        let root = html.tree.root();
        nodes.push(root.id());
        parent.push(NONE);
        prev.push(NONE);
        end.push(0);
        let mut stack: Vec<(u32, u32, Option<ego_tree::NodeRef<'_, Node>>)> =
            vec![(0, NONE, root.first_child())];
        while let Some(top) = stack.last_mut() {
            let (num, last, next) = (top.0, top.1, top.2);
            match next {
                Some(child) => {
                    let n = nodes.len() as u32;
                    nodes.push(child.id());
                    parent.push(num);
                    prev.push(last);
                    end.push(0);
                    top.1 = n;
                    top.2 = child.next_sibling();
                    stack.push((n, NONE, child.first_child()));
                }
                None => {
                    end[num as usize] = nodes.len() as u32;
                    stack.pop();
                }
            }
        }
        Self {
            html,
            nodes,
            parent,
            prev,
            end,
        }
    }

    fn node(&self, n: u32) -> &Node {
        self.html
            .tree
            .get(self.nodes[n as usize])
            .expect("numbered nodes exist")
            .value()
    }

    fn element(&self, n: u32) -> Option<ElementRef<'_>> {
        ElementRef::wrap(self.html.tree.get(self.nodes[n as usize])?)
    }

    fn is_element(&self, n: u32) -> bool {
        self.node(n).is_element()
    }

    fn next_sibling(&self, n: u32) -> u32 {
        let p = self.parent[n as usize];
        let e = self.end[n as usize];
        if p != NONE && e < self.end[p as usize] {
            e
        } else {
            NONE
        }
    }

    fn child_nodes(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        let stop = self.end[n as usize];
        let first = if n + 1 < stop { n + 1 } else { NONE };
        std::iter::successors(Some(first).filter(|c| *c != NONE), move |c| {
            let next = self.end[*c as usize];
            (next < stop).then_some(next)
        })
    }

    fn matches(&self, n: u32, m: &Matcher) -> bool {
        let Some(el) = self.element(n) else {
            return false;
        };
        m.groups.iter().any(|(sel, contains)| {
            sel.matches(&el) && {
                if contains.is_empty() {
                    true
                } else {
                    let text = self.text(n);
                    contains.iter().all(|c| text.contains(c.as_str()))
                }
            }
        })
    }

    /// Text of the node and its descendants (comments excluded), as goquery.
    fn text(&self, n: u32) -> String {
        let mut out = String::new();
        for i in n..self.end[n as usize] {
            if let Node::Text(t) = self.node(i) {
                out.push_str(t);
            }
        }
        out
    }

    fn node_name(&self, n: u32) -> String {
        match self.node(n) {
            Node::Element(e) => e.name().to_string(),
            Node::Doctype(d) => d.name().to_string(),
            Node::Text(_) => "#text".into(),
            Node::Comment(_) => "#comment".into(),
            Node::Document | Node::Fragment => "#document".into(),
            Node::ProcessingInstruction(p) => p.target.to_string(),
        }
    }

    fn attr(&self, n: u32, name: &str) -> Option<String> {
        match self.node(n) {
            Node::Element(e) => e
                .attrs
                .iter()
                .find(|(k, _)| &*k.local == name)
                .map(|(_, v)| v.to_string()),
            _ => None,
        }
    }

    /// The children of node `n` rendered as Go's `html.Render` does (what
    /// goquery's `Html()` returns).
    fn inner_html(&self, n: u32) -> String {
        let mut out = String::new();
        for c in self.child_nodes(n) {
            self.render(c, &mut out);
        }
        out
    }

    fn render(&self, n: u32, out: &mut String) {
        match self.node(n) {
            Node::Text(t) => {
                let raw = self.parent[n as usize] != NONE
                    && matches!(
                        self.node(self.parent[n as usize]),
                        Node::Element(e) if RAW_TEXT.contains(&e.name())
                    );
                if raw {
                    out.push_str(t);
                } else {
                    escape(t, out);
                }
            }
            Node::Comment(c) => {
                out.push_str("<!--");
                out.push_str(c);
                out.push_str("-->");
            }
            Node::Doctype(d) => {
                out.push_str("<!DOCTYPE ");
                out.push_str(d.name());
                if !d.public_id().is_empty() {
                    out.push_str(" PUBLIC \"");
                    out.push_str(d.public_id());
                    out.push('"');
                    if !d.system_id().is_empty() {
                        out.push_str(" \"");
                        out.push_str(d.system_id());
                        out.push('"');
                    }
                } else if !d.system_id().is_empty() {
                    out.push_str(" SYSTEM \"");
                    out.push_str(d.system_id());
                    out.push('"');
                }
                out.push('>');
            }
            Node::Element(e) => {
                let name = e.name();
                out.push('<');
                out.push_str(name);
                for (k, v) in e.attrs.iter() {
                    out.push(' ');
                    if let Some(p) = &k.prefix {
                        out.push_str(p);
                        out.push(':');
                    }
                    out.push_str(&k.local);
                    out.push_str("=\"");
                    escape(v, out);
                    out.push('"');
                }
                if VOID.contains(&name) {
                    out.push_str("/>");
                    return;
                }
                out.push('>');
                let first = n + 1;
                if matches!(name, "pre" | "listing" | "textarea")
                    && first < self.end[n as usize]
                    && matches!(self.node(first), Node::Text(t) if t.starts_with('\n'))
                {
                    out.push('\n');
                }
                for c in self.child_nodes(n) {
                    self.render(c, out);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            Node::Document | Node::Fragment => {
                for c in self.child_nodes(n) {
                    self.render(c, out);
                }
            }
            Node::ProcessingInstruction(_) => {}
        }
    }
}

/// Elements Go's renderer writes without a closing tag (as `<br/>`).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements whose text Go's renderer writes unescaped.
const RAW_TEXT: &[&str] = &[
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "xmp",
];

/// Go's `html.EscapeString` (used for text and attribute values).
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A compiled selector: groups of (CSS selector, `:contains()` texts the
/// element's text must include). An invalid selector has no group and
/// matches nothing, as in goquery.
pub(crate) struct Matcher {
    groups: Vec<(Selector, Vec<String>)>,
}

thread_local! {
    /// Scripts use the same few selectors on every iteration.
    static MATCHERS: RefCell<HashMap<String, Rc<Matcher>>> = RefCell::new(HashMap::new());
}

const MAX_CACHED_MATCHERS: usize = 512;

impl Matcher {
    pub(crate) fn get(selector: &str) -> Rc<Matcher> {
        if let Some(m) = MATCHERS.with(|c| c.borrow().get(selector).cloned()) {
            return m;
        }
        let m = Rc::new(Self::compile(selector));
        MATCHERS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= MAX_CACHED_MATCHERS {
                c.clear();
            }
            c.insert(selector.to_string(), m.clone());
        });
        m
    }

    fn compile(selector: &str) -> Self {
        let mut groups = Vec::new();
        for group in split_top_level(selector, ',') {
            let (css, contains) = extract_contains(&rewrite_pseudo(group));
            match Selector::parse(if css.trim().is_empty() { "*" } else { &css }) {
                Ok(sel) => groups.push((sel, contains)),
                Err(_) => return Self { groups: Vec::new() },
            }
        }
        Self { groups }
    }
}

/// Splits `s` at `sep` outside quotes, brackets and parentheses.
fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// cascadia's (goquery's selector engine) form pseudo-classes, which Servo's
/// selectors leave to the host, as attribute selectors.
fn rewrite_pseudo(group: &str) -> String {
    let mut out = group.to_string();
    for (from, to) in [
        (":checked", "[checked]"),
        (":selected", "[selected]"),
        (":disabled", "[disabled]"),
        (":enabled", ":not([disabled])"),
    ] {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

/// Removes `:contains("text")` from a selector group, returning the texts.
fn extract_contains(group: &str) -> (String, Vec<String>) {
    let mut css = String::new();
    let mut texts = Vec::new();
    let mut rest = group;
    while let Some(i) = rest.find(":contains(") {
        css.push_str(&rest[..i]);
        let after = &rest[i + ":contains(".len()..];
        let close = split_top_level(after, ')')[0].len();
        let arg = after[..close].trim();
        let unquoted = arg
            .strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .or_else(|| arg.strip_prefix('\'').and_then(|a| a.strip_suffix('\'')))
            .unwrap_or(arg);
        texts.push(unquoted.to_string());
        rest = after.get(close + 1..).unwrap_or("");
    }
    css.push_str(rest);
    (css, texts)
}

/// Appends `n` unless already there.
struct Unique {
    out: Vec<u32>,
    seen: HashSet<u32>,
}

impl Unique {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            seen: HashSet::new(),
        }
    }
    fn push(&mut self, n: u32) {
        if n != NONE && self.seen.insert(n) {
            self.out.push(n);
        }
    }
}

/// What a selection argument can be: a selector or other nodes.
enum Target {
    Selector(Rc<Matcher>),
    Nodes(HashSet<u32>),
}

impl Target {
    fn from_js(selector: Option<String>, nodes: Option<Vec<u32>>) -> Option<Self> {
        match (selector, nodes) {
            (Some(s), _) => Some(Target::Selector(Matcher::get(&s))),
            (None, Some(n)) => Some(Target::Nodes(n.into_iter().collect())),
            (None, None) => None,
        }
    }

    fn hit(&self, doc: &Doc, n: u32) -> bool {
        match self {
            Target::Selector(m) => doc.matches(n, m),
            Target::Nodes(set) => set.contains(&n),
        }
    }
}

/// A parsed document as JavaScript holds it.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "HtmlDocument")]
pub(crate) struct HtmlDoc {
    #[qjs(skip_trace)]
    doc: Rc<Doc>,
}

#[rquickjs::methods]
impl HtmlDoc {
    /// Descendants of `ids` matching the selector (or among `nodes`).
    fn find(&self, ids: Vec<u32>, selector: Option<String>, nodes: Option<Vec<u32>>) -> Vec<u32> {
        let d = &self.doc;
        let Some(t) = Target::from_js(selector, nodes) else {
            return Vec::new();
        };
        let mut u = Unique::new();
        for n in ids {
            for i in n + 1..d.end[n as usize] {
                if t.hit(d, i) {
                    u.push(i);
                }
            }
        }
        u.out
    }

    /// `ids` matching (keep) or not matching the selector or nodes.
    fn filter(
        &self,
        ids: Vec<u32>,
        keep: bool,
        selector: Option<String>,
        nodes: Option<Vec<u32>>,
    ) -> Vec<u32> {
        let d = &self.doc;
        let t = Target::from_js(selector, nodes);
        ids.into_iter()
            .filter(|n| t.as_ref().is_some_and(|t| t.hit(d, *n)) == keep)
            .collect()
    }

    /// The first of each node and its ancestors matching.
    fn closest(
        &self,
        ids: Vec<u32>,
        selector: Option<String>,
        nodes: Option<Vec<u32>>,
    ) -> Vec<u32> {
        let d = &self.doc;
        let Some(t) = Target::from_js(selector, nodes) else {
            return Vec::new();
        };
        let mut u = Unique::new();
        for n in ids {
            let mut c = n;
            while c != NONE {
                if d.is_element(c) && t.hit(d, c) {
                    u.push(c);
                    break;
                }
                c = d.parent[c as usize];
            }
        }
        u.out
    }

    /// `ids` with a descendant matching.
    fn has(&self, ids: Vec<u32>, selector: Option<String>, nodes: Option<Vec<u32>>) -> Vec<u32> {
        let d = &self.doc;
        let Some(t) = Target::from_js(selector, nodes) else {
            return Vec::new();
        };
        ids.into_iter()
            .filter(|n| (n + 1..d.end[*n as usize]).any(|i| t.hit(d, i)))
            .collect()
    }

    /// Relatives of each node: `kind` is one of `children`, `contents`,
    /// `parent`, `parents`, `next`, `nextAll`, `prev`, `prevAll`,
    /// `siblings`. The walk stops before a node matching the `until`
    /// selector (or in `untilNodes`); the result keeps the nodes matching
    /// `filter`.
    fn walk(
        &self,
        ids: Vec<u32>,
        kind: String,
        filter: Option<String>,
        until: Option<String>,
        until_nodes: Option<Vec<u32>>,
    ) -> Vec<u32> {
        let d = &self.doc;
        let until = Target::from_js(until, until_nodes);
        let stop = |n: u32| until.as_ref().is_some_and(|t| t.hit(d, n));
        let mut u = Unique::new();
        for n in ids {
            match kind.as_str() {
                "children" => d
                    .child_nodes(n)
                    .filter(|c| d.is_element(*c))
                    .for_each(|c| u.push(c)),
                "contents" => d.child_nodes(n).for_each(|c| u.push(c)),
                "parent" => {
                    let p = d.parent[n as usize];
                    if p != NONE && d.is_element(p) {
                        u.push(p);
                    }
                }
                "parents" => {
                    let mut p = d.parent[n as usize];
                    while p != NONE && d.is_element(p) && !stop(p) {
                        u.push(p);
                        p = d.parent[p as usize];
                    }
                }
                "next" | "nextAll" => {
                    let mut s = d.next_sibling(n);
                    while s != NONE {
                        if d.is_element(s) {
                            if stop(s) {
                                break;
                            }
                            u.push(s);
                            if kind == "next" {
                                break;
                            }
                        }
                        s = d.next_sibling(s);
                    }
                }
                "prev" | "prevAll" => {
                    let mut s = d.prev[n as usize];
                    while s != NONE {
                        if d.is_element(s) {
                            if stop(s) {
                                break;
                            }
                            u.push(s);
                            if kind == "prev" {
                                break;
                            }
                        }
                        s = d.prev[s as usize];
                    }
                }
                "siblings" => {
                    let p = d.parent[n as usize];
                    if p != NONE {
                        d.child_nodes(p)
                            .filter(|c| *c != n && d.is_element(*c))
                            .for_each(|c| u.push(c));
                    }
                }
                _ => {}
            }
        }
        match filter {
            Some(f) => {
                let m = Matcher::get(&f);
                u.out.into_iter().filter(|n| d.matches(*n, &m)).collect()
            }
            None => u.out,
        }
    }

    /// Whether any node matches.
    fn is(&self, ids: Vec<u32>, selector: Option<String>, nodes: Option<Vec<u32>>) -> bool {
        let d = &self.doc;
        Target::from_js(selector, nodes).is_some_and(|t| ids.iter().any(|n| t.hit(d, *n)))
    }

    /// The combined text of the nodes.
    fn text(&self, ids: Vec<u32>) -> String {
        ids.iter().map(|n| self.doc.text(*n)).collect()
    }

    /// The inner HTML of node `n`.
    fn html(&self, n: u32) -> String {
        self.doc.inner_html(n)
    }

    /// The outer HTML of node `n`.
    #[qjs(rename = "outerHtml")]
    fn outer_html(&self, n: u32) -> String {
        let mut out = String::new();
        self.doc.render(n, &mut out);
        out
    }

    /// Attribute `name` of node `n`, if it is an element that has it.
    fn attr(&self, n: u32, name: String) -> Option<String> {
        self.doc.attr(n, &name)
    }

    /// The attributes of node `n` as `[name, value]` pairs, in source order.
    fn attrs(&self, n: u32) -> Vec<Vec<String>> {
        match self.doc.node(n) {
            Node::Element(e) => e
                .attrs
                .iter()
                .map(|(k, v)| vec![k.local.to_string(), v.to_string()])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// DOM node type: 1 element, 3 text, 8 comment, 9 document, 10 doctype.
    #[qjs(rename = "nodeType")]
    fn node_type(&self, n: u32) -> u32 {
        match self.doc.node(n) {
            Node::Element(_) => 1,
            Node::Text(_) => 3,
            Node::ProcessingInstruction(_) => 7,
            Node::Comment(_) => 8,
            Node::Document | Node::Fragment => 9,
            Node::Doctype(_) => 10,
        }
    }

    /// goquery's node name: the tag, `#text`, `#comment`, `#document`.
    #[qjs(rename = "nodeName")]
    fn node_name(&self, n: u32) -> String {
        self.doc.node_name(n)
    }

    /// The element's namespace URI.
    fn namespace(&self, n: u32) -> String {
        match self.doc.node(n) {
            Node::Element(e) => e.name.ns.to_string(),
            _ => String::new(),
        }
    }

    /// A node's parent, previous and next sibling, first and last child.
    fn links(&self, n: u32) -> Vec<Option<u32>> {
        let d = &self.doc;
        let opt = |v: u32| (v != NONE).then_some(v);
        let first = (n + 1 < d.end[n as usize]).then_some(n + 1);
        vec![
            opt(d.parent[n as usize]),
            opt(d.prev[n as usize]),
            opt(d.next_sibling(n)),
            first,
            d.child_nodes(n).last(),
        ]
    }

    /// Whether `other` is a descendant of `n`.
    fn contains(&self, n: u32, other: u32) -> bool {
        other > n && other < self.doc.end[n as usize]
    }
}

/// Builds the native part of `k6/html`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    set_fn(&obj, "parse", |ctx: Ctx<'js>, source: String| {
        Class::instance(
            ctx,
            HtmlDoc {
                doc: Rc::new(Doc::parse(&source)),
            },
        )
    })?;
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> HtmlDoc {
        HtmlDoc {
            doc: Rc::new(Doc::parse(s)),
        }
    }

    fn names(d: &HtmlDoc, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|n| d.doc.node_name(*n)).collect()
    }

    const PAGE: &str = "<html><head><title>T</title></head><body><div id=main>\
        <ul><li class=it>one</li><li class='it sel'>two <b>bold</b></li><li>three</li></ul>\
        <a href='/x'>l1</a><!-- c -->tail</div></body></html>";

    #[test]
    fn numbers_nodes_in_document_order() {
        let d = doc(PAGE);
        let lis = d.find(vec![0], Some("li".into()), None);
        assert_eq!(lis.len(), 3);
        assert!(lis.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(d.text(lis.clone()), "onetwo boldthree");
        let b = d.find(vec![0], Some("b".into()), None);
        assert_eq!(
            names(&d, &d.walk(b.clone(), "parents".into(), None, None, None)),
            ["li", "ul", "div", "body", "html"]
        );
        assert_eq!(
            d.walk(b, "parents".into(), None, Some("div".into()), None)
                .len(),
            2
        );
        let first = vec![lis[0]];
        assert_eq!(
            d.walk(first.clone(), "nextAll".into(), None, None, None),
            lis[1..]
        );
        assert_eq!(
            d.walk(vec![lis[2]], "prevAll".into(), None, None, None),
            [lis[1], lis[0]]
        );
        assert_eq!(
            d.walk(vec![lis[1]], "siblings".into(), None, None, None),
            [lis[0], lis[2]]
        );
        let main = d.find(vec![0], Some("#main".into()), None);
        assert_eq!(
            names(&d, &d.walk(main, "contents".into(), None, None, None)),
            ["ul", "a", "#comment", "#text"]
        );
    }

    #[test]
    fn renders_like_go_html() {
        let d = doc("<div><p title=\"a'b\">x &amp; 'y' <br> \"z\"</p><textarea>\nq</textarea><script>if (a < b) {}</script></div>");
        let div = d.find(vec![0], Some("div".into()), None);
        assert_eq!(
            d.html(div[0]),
            "<p title=\"a&#39;b\">x &amp; &#39;y&#39; <br/> &#34;z&#34;</p><textarea>q</textarea><script>if (a < b) {}</script>"
        );
    }

    #[test]
    fn selectors_with_contains_and_form_pseudo_classes() {
        let d = doc("<form><input name=a checked><input name=b><a>Next page</a><a>Prev</a></form>");
        assert_eq!(
            d.find(vec![0], Some("a:contains('Next')".into()), None)
                .len(),
            1
        );
        assert_eq!(d.find(vec![0], Some("input:checked".into()), None).len(), 1);
        assert_eq!(
            d.find(vec![0], Some("a:contains(\"P\"), input".into()), None)
                .len(),
            3
        );
        assert!(d.find(vec![0], Some("li[".into()), None).is_empty());
    }
}
