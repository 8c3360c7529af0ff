//! What a test sees of an HTTP exchange, and firing many requests at the same instant.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::Barrier;

/// A response, read completely: status, headers and the body as JSON (Null when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn from_request(request: reqwest::RequestBuilder) -> Self {
        let response = request
            .send()
            .await
            .expect("the request reached the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `error` code of an error body, or "" when there is none.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// A string field of the body; panics with the body when it is missing.
    #[track_caller]
    pub fn str(&self, field: &str) -> String {
        match self.body[field].as_str() {
            Some(value) => value.to_owned(),
            None => panic!(
                "response has no string `{field}`: {} {}",
                self.status, self.text
            ),
        }
    }

    /// An integer field of the body; panics with the body when it is missing.
    #[track_caller]
    pub fn int(&self, field: &str) -> i64 {
        match self.body[field].as_i64() {
            Some(value) => value,
            None => panic!(
                "response has no integer `{field}`: {} {}",
                self.status, self.text
            ),
        }
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.status, 200,
            "expected 200, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Status and `error` code, plus the parts every error body must have.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status, self.error()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text
        );
        let request_id = self.body["request_id"].as_str().unwrap_or("");
        assert!(
            !request_id.is_empty(),
            "error without request_id: {}",
            self.text
        );
        assert_eq!(
            self.header("x-request-id"),
            Some(request_id),
            "X-Request-Id differs from request_id"
        );
        self
    }

    /// The `{name, problem}` entries of an `invalid_request` body.
    #[track_caller]
    pub fn field_problems(&self) -> Vec<(String, String)> {
        let fields = self.body["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no `fields` array: {}", self.text));
        fields
            .iter()
            .map(|entry| {
                let name = entry["name"].as_str();
                let problem = entry["problem"].as_str();
                match (name, problem) {
                    (Some(name), Some(problem)) if !problem.is_empty() => {
                        (name.to_owned(), problem.to_owned())
                    }
                    _ => panic!("malformed `fields` entry {entry} in {}", self.text),
                }
            })
            .collect()
    }
}

/// A POST built ahead of time so that it can be sent from a spawned task.
#[derive(Debug, Clone)]
pub struct PreparedPost {
    pub client: reqwest::Client,
    pub url: String,
    pub body: Value,
}

/// Sends every request at the same moment (released together by a barrier) and returns the
/// replies in the order given.
pub async fn fire_at_once(posts: Vec<PreparedPost>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(posts.len()));
    let tasks: Vec<_> = posts
        .into_iter()
        .map(|post| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let request = post.client.post(&post.url).json(&post.body);
                barrier.wait().await;
                Reply::from_request(request).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.expect("a concurrent request task panicked"));
    }
    replies
}
