//! What the DynamoDB store tells the invocation's metrics, on DynamoDB Local: each call
//! counted and timed (the client's interceptor), a failed condition noted, each call an X-Ray
//! subsegment.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use contacts::Contact;
use organizer_shared::contract;
use organizer_shared::metrics::{Discard, Metrics};
use organizer_shared::store::Item;
use organizer_shared::xray::XRay;

#[tokio::test]
async fn each_call_is_counted_and_timed_and_a_failed_condition_is_noted() {
    let stores = contract::dynamodb::<Contact>().await;
    // X-Ray on (to an address nobody listens at): spans are kept only where they are sent.
    let metrics = Metrics::new("Organizer/test", "contacts", Arc::new(Discard))
        .with_xray(XRay::to("127.0.0.1:2000"));
    let contact = Contact::samples("auth0|metrics").remove(0);
    let (refused, tally) = metrics
        .measure(async {
            stores
                .store
                .create("auth0|metrics", &contact, None)
                .await
                .unwrap();
            // The same id again: DynamoDB refuses the transaction's condition.
            let refused = stores
                .store
                .create("auth0|metrics", &contact, None)
                .await
                .is_err();
            stores
                .store
                .get("auth0|metrics", contact.id())
                .await
                .unwrap();
            refused
        })
        .await;
    assert!(refused);
    assert!(tally.dynamodb_calls >= 3, "{tally:?}");
    assert!(tally.dynamodb_ms > 0.0, "{tally:?}");
    assert!(tally.conditional_check_failed >= 1, "{tally:?}");
    assert_eq!(tally.dynamodb_throttled, 0);
    // Each call is an X-Ray subsegment named by its operation; the refused one a fault.
    let calls: Vec<(&str, bool)> = tally
        .spans
        .iter()
        .filter(|s| s.namespace == Some("aws"))
        .map(|s| (s.operation.as_deref().unwrap_or("?"), s.error))
        .collect();
    assert_eq!(calls.len(), tally.dynamodb_calls as usize, "{calls:?}");
    assert!(calls.contains(&("TransactWriteItems", false)), "{calls:?}");
    assert!(calls.contains(&("TransactWriteItems", true)), "{calls:?}");
    assert!(calls.iter().any(|(op, _)| *op == "GetItem"), "{calls:?}");
}
