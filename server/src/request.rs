//! The request a piece of work is done for. Its id follows the work into what outlives the
//! request: the client events a change writes carry it, and so the relay's attempts at them
//! log it, however much later and on whichever instance they run.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The longest id kept; a client's `x-request-id` may be longer, and is cut.
pub const MAX_ID_LEN: usize = 64;

/// Runs `work` as part of the request `id`.
pub async fn scope<F: Future>(mut id: String, work: F) -> F::Output {
    if id.len() > MAX_ID_LEN {
        let mut end = MAX_ID_LEN;
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        id.truncate(end);
    }
    REQUEST_ID.scope(id, work).await
}

/// The id of the request the current task works for; `None` outside a request.
pub fn id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_id_holds_within_its_scope_only_and_is_cut_to_its_column() {
        assert_eq!(super::id(), None);
        let inside = super::scope("r-1".to_owned(), async { super::id() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
        let long = "가".repeat(40);
        let cut = super::scope(long, async { super::id().unwrap() }).await;
        assert!(cut.len() <= super::MAX_ID_LEN && cut.chars().all(|c| c == '가'));
        assert_eq!(super::id(), None);
    }
}
