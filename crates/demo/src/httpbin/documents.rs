//! Fixed documents: `/json`, `/html`, `/xml`, `/robots.txt`, `/deny`,
//! `/forms/post`, `/image`.

use std::io::Write;
use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use serde_json::json;

use super::request::{json, json_with_status, Head};

const HTML: &str = r#"<!DOCTYPE html>
<html>
  <head>
  </head>
  <body>
      <h1>Herman Melville - Moby-Dick</h1>

      <div>
        <p>
          Availing himself of the mild, summer-cool weather that now reigned in these latitudes, and in preparation for the peculiarly active pursuits shortly to be anticipated, Perth, the begrimed, blistered old blacksmith, had not removed his portable forge to the hold again, after concluding his contributory work for Ahab's leg, but still retained it on deck, fast lashed to ringbolts by the foremast; being now almost incessantly invoked by the headsmen, and harpooneers, and bowsmen to do some little job for them; altering, or repairing, or new shaping their various weapons and boat furniture.
        </p>
      </div>
  </body>
</html>"#;

const XML: &str = r#"<?xml version='1.0' encoding='us-ascii'?>

<!--  A SAMPLE set of slides  -->

<slideshow 
    title="Sample Slide Show"
    date="Date of publication"
    author="Yours Truly"
    >

    <!-- TITLE SLIDE -->
    <slide type="all">
      <title>Wake up to WonderWidgets!</title>
    </slide>

    <!-- OVERVIEW -->
    <slide type="all">
        <title>Overview</title>
        <item>Why <em>WonderWidgets</em> are great</item>
        <item/>
        <item>Who <em>buys</em> WonderWidgets</item>
    </slide>

</slideshow>"#;

const FORMS_POST: &str = r#"<!DOCTYPE html>
<html>
  <head>
  </head>
  <body>
  <form method="post" action="/post">
   <p><label>Customer name: <input name="custname"></label></p>
   <p><label>Telephone: <input type=tel name="custtel"></label></p>
   <p><label>E-mail address: <input type=email name="custemail"></label></p>
   <fieldset>
    <legend> Pizza Size </legend>
    <p><label> <input type=radio name=size value="small"> Small </label></p>
    <p><label> <input type=radio name=size value="medium"> Medium </label></p>
    <p><label> <input type=radio name=size value="large"> Large </label></p>
   </fieldset>
   <fieldset>
    <legend> Pizza Toppings </legend>
    <p><label> <input type=checkbox name="topping" value="bacon"> Bacon </label></p>
    <p><label> <input type=checkbox name="topping" value="cheese"> Extra Cheese </label></p>
    <p><label> <input type=checkbox name="topping" value="onion"> Onion </label></p>
    <p><label> <input type=checkbox name="topping" value="mushroom"> Mushroom </label></p>
   </fieldset>
   <p><label>Preferred delivery time: <input type=time min="11:00" max="21:00" step="900" name="delivery"></label></p>
   <p><label>Delivery instructions: <textarea name="comments"></textarea></label></p>
   <p><button>Submit order</button></p>
  </form>
  </body>
</html>
"#;

const DENY: &str = r#"
          .-''''''-.
        .' _      _ '.
       /   O      O   \
      :                :
      |                |
      :       __       :
       \  .-"`  `"-.  /
        '.          .'
          '-......-'
     YOU SHOULDN'T BE HERE
"#;

const SVG: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">
  <rect width="100" height="100" fill="#f5a623"/>
  <circle cx="50" cy="50" r="30" fill="#4a90e2"/>
</svg>
"##;

/// `/json`: httpbin's sample slide show.
pub(crate) async fn json_doc() -> Response {
    json(&json!({
        "slideshow": {
            "author": "Yours Truly",
            "date": "date of publication",
            "slides": [
                { "title": "Wake up to WonderWidgets!", "type": "all" },
                {
                    "items": [
                        "Why <em>WonderWidgets</em> are great",
                        "Who <em>buys</em> WonderWidgets"
                    ],
                    "title": "Overview",
                    "type": "all"
                }
            ],
            "title": "Sample Slide Show"
        }
    }))
}

/// `/html`.
pub(crate) async fn html() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], HTML).into_response()
}

/// `/xml`.
pub(crate) async fn xml() -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], XML).into_response()
}

/// `/robots.txt`.
pub(crate) async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "User-agent: *\nDisallow: /deny\n",
    )
        .into_response()
}

/// `/deny`: what `/robots.txt` forbids.
pub(crate) async fn deny() -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], DENY).into_response()
}

/// `/forms/post`: an HTML form that posts to `/post`.
pub(crate) async fn forms_post() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        FORMS_POST,
    )
        .into_response()
}

/// `/image`: PNG or SVG as `Accept` asks, else 406.
pub(crate) async fn image(head: Head) -> Response {
    let accept = head.header(header::ACCEPT).unwrap_or("image/png");
    if accept.contains("image/svg+xml") {
        svg().await
    } else if accept.contains("image/png") || accept.contains("image/*") || accept.contains("*/*") {
        png().await
    } else {
        json_with_status(
            StatusCode::NOT_ACCEPTABLE,
            &json!({
                "message": "Client did not request a supported media type.",
                "accept": ["image/svg+xml", "image/png", "image/*"],
            }),
        )
    }
}

/// `/image/png`: a small generated PNG.
pub(crate) async fn png() -> Response {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    let png = PNG.get_or_init(|| make_png(64, 64));
    ([(header::CONTENT_TYPE, "image/png")], png.clone()).into_response()
}

/// `/image/svg`.
pub(crate) async fn svg() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], SVG).into_response()
}

/// An RGB gradient PNG, encoded by hand (zlib and CRC from flate2).
fn make_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 160]);
        }
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&raw).expect("writing to a Vec cannot fail");
    let idat = zlib.finish().expect("writing to a Vec cannot fail");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(&data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_is_well_formed() {
        let png = super::make_png(2, 2);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82])); // CRC of an empty IEND
    }
}
