//! k6/html, k6/experimental/fs, k6/experimental/csv and TypeScript modules.

mod common;

use std::collections::BTreeMap;

use common::{iterate_script, with_vu, Script};
use stampede_js::IterationOutcome;

fn completes(s: &Script) {
    let out = iterate_script(s, 1);
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

#[test]
fn parse_html_traverses_like_goquery() {
    completes(&Script::new(
        "import { parseHTML } from 'k6/html';\n\
         const doc = parseHTML(`<ul><li class=a>one</li><li class='a b' data-n='5'>two <b>x</b></li><li>three</li></ul>\
           <form><input name=q value=1><select name=s><option value=v selected>V</option></select></form>`);\n\
         function eq(a, b) { if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(JSON.stringify(a) + ' != ' + JSON.stringify(b)); }\n\
         export default function () {\n\
           eq(doc.find('li').size(), 3);\n\
           eq(doc.find('li').text(), 'onetwo xthree');\n\
           eq(doc.find('.b').data('n'), 5);\n\
           eq(doc.find('b').parents().size(), 4);\n\
           eq(doc.find('li').first().nextAll().size(), 2);\n\
           eq(doc.find('li').map((i, s) => s.text()), ['one', 'two x', 'three']);\n\
           eq(doc.find('li').get(1).innerHTML(), 'two <b>x</b>');\n\
           eq(doc.find('form').serialize(), 'q=1&s=v');\n\
           eq(doc.find('li').filter((i) => i > 0).not('.b').text(), 'three');\n\
           eq(doc.find('li').eq(-1).end().size(), 3);\n\
           eq(doc.find('li:contains(\"thr\")').size(), 1);\n\
           eq(doc.find('li[').size(), 0);\n\
         }\n",
    ));
}

#[test]
fn csv_parse_and_fs_files() {
    let s = Script::with_files(
        "import { open, SeekMode } from 'k6/experimental/fs';\n\
         import csv from 'k6/experimental/csv';\n\
         const rows = await csv.parse(await open('./d.csv'), { asObjects: true });\n\
         const parser = new csv.Parser(await open('./d.csv'), { skipFirstLine: true });\n\
         const f = await open('./d.csv');\n\
         export default async function () {\n\
           if (rows.length !== 2 || rows[1].b !== 'x,y' || !Array.isArray(rows)) throw new Error(JSON.stringify(rows));\n\
           const first = await parser.next();\n\
           if (first.done || first.value[0] !== '1') throw new Error(JSON.stringify(first));\n\
           await parser.next();\n\
           const end = await parser.next();\n\
           if (!end.done) throw new Error('not done');\n\
           const buf = new Uint8Array(3);\n\
           await f.seek(2, SeekMode.Start);\n\
           if (await f.read(buf) !== 3 || buf[0] !== 98) throw new Error('read');\n\
           if ((await f.stat()).size !== 16) throw new Error('stat');\n\
           try { await open('./d.csv'); throw new Error('opened'); } catch (e) { if (e.name !== 'ForbiddenError') throw e; }\n\
         }\n",
        &[("d.csv", "a,b\n1,2\n3,\"x,y\"\n")],
    );
    completes(&s);
}

#[test]
fn missing_files_reject_with_k6_error_names() {
    let s = Script::new(
        "import { open } from 'k6/experimental/fs';\n\
         let name;\n\
         try { await open('./nope.csv'); } catch (e) { name = e.name; }\n\
         export default function () { if (name !== 'NotFoundError') throw new Error(name); }\n",
    );
    completes(&s);
}

#[test]
fn typescript_modules_lose_their_types_and_keep_their_lines() {
    let s = Script::with_files(
        "import { run } from './lib.ts';\nexport default function () { run(); }\n",
        &[(
            "lib.ts",
            "import { Options } from 'k6/options';\n\
             interface P { x: number }\n\
             enum E { A = 1, B }\n\
             export const o: Options = {};\n\
             export function run(): void {\n\
               const p = { x: 2 } as P;\n\
               if (E.B !== 2 || p.x !== 2) throw new Error('values');\n\
               throw new Error('from line 8');\n\
             }\n",
        )],
    );
    let out = iterate_script(&s, 1);
    match &out.result[0] {
        IterationOutcome::Failed(e) => assert!(e.contains("lib.ts:8:"), "{e}"),
        other => panic!("{other:?} {:?}", out.logs),
    }
}

#[test]
fn typescript_syntax_errors_point_at_the_file() {
    let s = Script::with_files(
        "import './bad.ts';\nexport default function () {}\n",
        &[("bad.ts", "const a = 1;\nlet b: = 2;\n")],
    );
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(err.contains("bad.ts:2:"), "{err}");
}
