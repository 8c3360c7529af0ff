//! Seats stay exact when several engine processes share one Postgres database.
//! Skipped (with a note) when `TEST_DATABASE_URL` is not set.

use super::{Vendor, activation, assert_verdict, seats, the_only_winner};
use crate::support::database::scratch_database;
use crate::support::{Harness, TestServer, fire_at_once};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_twenty_devices_for_the_last_seat_give_exactly_one() {
    // Arrange: two engine processes on one database, sharing the master key and the app.
    let Some(database) = scratch_database().await else {
        return;
    };
    let mut h = Harness::start_with(TestServer::builder().postgres(database.url())).await;
    let mut second = h.server.start_sibling().await;
    let (first_process, second_process) = (Vendor::of(&h), Vendor::for_app(&second, &h.app));
    let key = first_process.issue_seats(1).await.key;
    let devices: Vec<String> = (0..20).map(|i| format!("racing-device-{i}")).collect();
    let posts = devices
        .iter()
        .enumerate()
        .map(|(i, device)| {
            let process = if i % 2 == 0 {
                first_process
            } else {
                second_process
            };
            process.prepare("/licenses/activate", activation(&key, device))
        })
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    let winner = the_only_winner(&replies);
    let winning_device = &devices[winner];
    for process in [first_process, second_process] {
        let checked = process.verify(&key, Some(winning_device)).await;
        assert_verdict(&checked, "VALID");
        assert_eq!(seats(&checked), 1, "{}", checked.text);
    }
    // The token one process signed verifies against the JWKS the other one serves.
    second_process.token_claims(&replies[winner]).await;
    second.stop().await;
    h.server.stop().await;
}
