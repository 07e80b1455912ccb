//! The pages a site answers with when nothing else fits: 404, 405, 501, 500, 413. Their bytes are
//! Twisted's (one HTML template, `text/html; charset=utf-8`), so that a browser or a test sees what
//! Twisted Web shows.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{Method, StatusCode};

use super::{Render, RenderResult, Request, Resource};

/// An error page as a resource (Twisted's `ErrorPage`): every method, every path below it, gets
/// the same page with the same status.
pub struct ErrorPage {
    code: StatusCode,
    brief: String,
    detail: String,
}

impl ErrorPage {
    /// A page with `code`, a short title and a sentence of detail. Both are put in the page as
    /// they are: escape with [`escape_html`] what came from the client.
    pub fn new(code: StatusCode, brief: &str, detail: &str) -> ErrorPage {
        ErrorPage {
            code,
            brief: brief.to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// Twisted's `NoResource`: the 404 of a path that names nothing in the tree.
    pub fn no_resource() -> ErrorPage {
        ErrorPage::new(
            StatusCode::NOT_FOUND,
            "No Such Resource",
            "Sorry. No luck finding that resource.",
        )
    }

    /// Sets the status and type on `request`, and gives the page's body.
    pub fn render_on(&self, request: &Request) -> Render {
        request.set_response_code(self.code);
        let _ = request.set_header(CONTENT_TYPE.as_str(), "text/html; charset=utf-8");
        Render::Body(Bytes::from(error_page_html(
            self.code,
            &self.brief,
            &self.detail,
        )))
    }
}

impl Resource for ErrorPage {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render(&self, request: &Request) -> RenderResult {
        Ok(self.render_on(request))
    }
}

/// The one template of Twisted's error pages (the leading newline is Twisted's).
fn error_page_html(code: StatusCode, brief: &str, detail: &str) -> String {
    format!(
        "\n<html>\n  <head><title>{} - {brief}</title></head>\n  <body>\n    <h1>{brief}</h1>\n    \
         <p>{detail}</p>\n  </body>\n</html>\n",
        code.as_u16()
    )
}

/// The answer to a method the resource does not render: 405 with `Allow` for the methods HTTP/1.0
/// already had (GET, HEAD, POST), 501 "Huh?" for any other, as Twisted answers.
pub(crate) fn not_allowed(request: &Request, allowed: &[Method]) -> Render {
    let method = request.method();
    if !matches!(*method, Method::GET | Method::HEAD | Method::POST) {
        let detail = format!(
            "I don't know how to treat a {} request.",
            escape_html(method.as_str())
        );
        return ErrorPage::new(StatusCode::NOT_IMPLEMENTED, "Huh?", &detail).render_on(request);
    }
    method_not_allowed(request, allowed)
}

/// The 405 page with its `Allow` header, whatever the method: for a resource that refuses even
/// the methods Twisted would call unknown (a directory listing refuses PUT with a 405, not a 501).
pub(crate) fn method_not_allowed(request: &Request, allowed: &[Method]) -> Render {
    let method = request.method();
    let mut names: Vec<&str> = Vec::new();
    if allowed.contains(&Method::GET) && !allowed.contains(&Method::HEAD) {
        names.push("HEAD");
    }
    names.extend(allowed.iter().map(Method::as_str));
    let list = names.join(", ");
    let plural = if names.len() == 1 { "" } else { "s" };
    let detail = format!(
        "Your browser approached me (at {}) with the method \"{method}\".  I only allow the \
         method{plural} {list} here.",
        escape_html(request.uri())
    );
    let _ = request.set_header(ALLOW.as_str(), &list);
    ErrorPage::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        &detail,
    )
    .render_on(request)
}

/// The 500 of a page that failed: Twisted's short "Processing Failed" page, which tells the client
/// nothing of the error (the log has it).
pub(crate) const PROCESSING_FAILED: &str = "<html><head><title>Processing Failed</title></head><body><b>Processing Failed</b></body></html>";

/// The 413 of a request whose body is over the site's limit.
pub(crate) fn too_large(request: &Request, limit: usize) -> Render {
    let detail = format!("The request body is larger than the {limit} bytes this site accepts.");
    ErrorPage::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
        &detail,
    )
    .render_on(request)
}

/// `text` made safe inside HTML: the five characters that could open markup or end an attribute.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_404_page_is_twisteds_167_bytes() {
        let page = error_page_html(
            StatusCode::NOT_FOUND,
            "No Such Resource",
            "Sorry. No luck finding that resource.",
        );
        assert_eq!(page.len(), 167);
        assert!(page.starts_with("\n<html>\n  <head><title>404 - No Such Resource</title>"));
    }

    #[test]
    fn the_processing_failed_page_is_95_bytes() {
        assert_eq!(PROCESSING_FAILED.len(), 95);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("a&b <c> \"d\""),
            "a&amp;b &lt;c&gt; &quot;d&quot;"
        );
    }
}
