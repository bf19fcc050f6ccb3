//! Runs the conformance suite against SQLite (always) and PostgreSQL (when `IRISX_TEST_POSTGRES_URL` is set;
//! otherwise each PostgreSQL case prints a SKIPPED line).

macro_rules! conformance {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_sqlite(crate::conformance::$module::$case).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_postgres(stringify!($case), crate::conformance::$module::$case).await;
                }
            )+
        }
    };
}

conformance!(
    tenants::a_tenant_created_with_its_owner_reads_back_with_its_owner_and_an_audit_entry,
    tenants::a_missing_tenant_is_not_found,
    tenants::tenants_list_newest_first_across_pages_and_filter_by_status_and_name,
    tenants::updating_a_tenant_changes_only_the_given_fields_and_refuses_the_deleting_status,
    tenants::a_tenant_being_deleted_is_purged_once_with_its_users_sessions_and_keys,
    tenants::purging_a_tenant_not_being_deleted_is_refused_without_effect,
    tenants::beginning_the_deletion_of_a_tenant_twice_is_refused,
    users::emails_are_unique_across_tenants_whatever_their_case,
    users::tenant_b_cannot_get_list_update_or_delete_tenant_a_users,
    users::users_list_newest_first_across_pages,
    users::the_last_active_owner_cannot_be_demoted_disabled_or_deleted,
    users::updating_a_user_changes_only_the_given_fields,
    users::a_password_change_revokes_every_other_session_and_deletion_removes_them,
    users::creating_a_user_in_a_missing_tenant_is_not_found,
    auth::a_session_reads_back_with_its_user_and_tenant_and_sets_the_last_login,
    auth::revoking_a_session_is_idempotent_and_keeps_the_first_time,
    auth::a_session_for_a_user_of_another_tenant_is_refused,
    auth::staff_members_are_found_by_email_whatever_its_case_and_duplicates_conflict,
    auth::a_staff_session_is_found_by_its_token_hash_and_revoking_it_is_idempotent,
    auth::an_api_key_reads_back_and_is_found_by_its_hash_with_its_tenant,
    auth::tenant_b_cannot_get_list_or_revoke_tenant_a_keys,
    auth::revoking_a_key_twice_keeps_the_first_time,
    auth::api_keys_list_newest_first_across_pages_revoked_ones_included,
    auth::touching_a_key_writes_only_when_the_stored_time_is_older_than_the_interval,
    outbox::a_claimed_row_is_not_claimed_again_until_released,
    outbox::claims_skip_future_rows_and_come_oldest_first_up_to_the_limit,
    outbox::claims_take_turns_across_tenants_lanes,
    outbox::the_in_flight_count_is_the_published_unfinished_rows,
    outbox::a_row_published_before_republish_before_and_still_pending_is_claimed_again,
    outbox::resetting_the_unfinished_outbox_makes_pending_published_rows_claimable,
    outbox::complete_reschedule_and_fail_move_a_task_and_finished_tasks_stay_finished,
    outbox::outbox_stats_count_rows_and_pruning_deletes_only_rows_finished_before_the_cutoff,
    outbox::four_concurrent_claimers_over_200_rows_never_claim_the_same_row,
    records::idempotency_keeps_the_first_record_until_it_expires,
    records::twenty_concurrent_puts_of_one_key_all_return_the_same_record,
    records::audit_entries_list_newest_first_with_filters,
);

/// The messaging cases: each takes both ports of one store.
macro_rules! messaging_conformance {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod sqlite_messaging {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_sqlite_both(crate::conformance::$module::$case).await;
                }
            )+
        }
        mod postgres_messaging {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_postgres_both(stringify!($case), crate::conformance::$module::$case)
                        .await;
                }
            )+
        }
    };
}

messaging_conformance!(
    accounts::tenant_b_cannot_read_list_or_delete_tenant_a_accounts_routes_or_numbers_nor_the_platforms,
    accounts::deleting_a_provider_account_is_refused_while_numbers_reference_it_and_removes_its_routes,
    accounts::a_route_on_an_account_of_another_owner_is_not_found,
    accounts::routes_for_prefers_the_tenants_usable_matching_routes_else_the_platforms_cheapest_first,
    accounts::a_phone_number_moves_between_the_pool_and_tenants_and_is_found_by_its_text,
    messages::creating_a_message_writes_its_event_and_a_pending_task_the_relay_claims,
    messages::concurrent_messages_are_all_stored_and_a_bad_one_fails_alone,
    messages::tenant_b_cannot_read_list_or_cancel_tenant_a_messages_nor_see_its_events_usage_or_opt_outs,
    messages::messages_list_newest_first_across_pages_with_status_address_tag_and_time_filters,
    messages::only_a_queued_message_scheduled_for_later_is_canceled_and_its_task_then_fails,
    messages::a_message_is_found_by_its_account_and_provider_id,
    messages::parked_receipts_are_taken_once_oldest_first_and_pruned_when_old,
    messages::purging_a_tenant_removes_its_messaging_rows,
    ledger::record_sent_stores_the_send_and_completes_the_task_once_and_a_redelivery_changes_nothing,
    ledger::record_failed_fails_the_message_and_completes_the_task_once,
    ledger::a_late_sent_after_delivered_is_kept_unapplied_and_read_after_delivered_applies,
    ledger::opt_outs_are_idempotent_ordered_by_number_with_a_digits_cursor_and_removal_tells_if_one_existed,
    ledger::usage_totals_sum_per_channel_unit_and_currency_within_the_half_open_range,
    ledger::events_list_newest_first_filtered_by_exact_type_prefix_and_resource,
    ledger::eight_concurrent_record_sent_calls_for_one_task_record_it_once,
    webhooks::an_event_fans_out_to_matching_enabled_endpoints_and_its_callback,
    webhooks::messages_written_together_fan_out_each_event_to_its_own_tenants_endpoints,
    webhooks::tenant_b_cannot_touch_tenant_a_endpoints,
    webhooks::an_attempt_settles_its_delivery_and_task_and_a_replay_queues_it_again,
);

/// The email and object cases: each takes every port of one store.
macro_rules! all_ports_conformance {
    ($($module:ident :: $case:ident),+ $(,)?) => {
        mod sqlite_all {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_sqlite_all(crate::conformance::$module::$case).await;
                }
            )+
        }
        mod postgres_all {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::with_postgres_all(stringify!($case), crate::conformance::$module::$case)
                        .await;
                }
            )+
        }
    };
}

all_ports_conformance!(
    email::an_emails_content_reads_back_and_a_received_email_has_its_event_and_no_task,
    email::an_object_is_read_by_its_tenant_only_and_by_id_for_a_signed_download,
    email::email_routes_match_the_domain_its_subdomains_or_any_and_the_tenants_own_win,
    email::tracking_is_recorded_once_with_its_suppression_and_suppressions_stay_with_their_tenant,
    email::template_names_are_unique_per_tenant_and_another_tenants_template_is_not_found,
);

mod calls {
    macro_rules! calls_cases {
        ($($case:ident),+ $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::calls::with_sqlite_calls(crate::conformance::calls::$case).await;
                    crate::conformance::calls::with_postgres_calls(stringify!($case), crate::conformance::calls::$case).await;
                }
            )+
        };
    }

    calls_cases!(
        tenant_b_cannot_reach_tenant_a_trunks_agents_calls_or_recordings,
        trunks_for_prefers_the_tenants_own_trunks_else_the_platforms,
        agent_user_names_are_unique_across_tenants,
        a_calls_cdr_records_its_usage_and_completes_its_task_once,
        a_dialled_number_leads_to_its_tenant_and_voice_url,
        a_change_to_a_live_call_is_taken_once,
        live_calls_of_a_stopped_voice_node_are_claimed_once,
    );
}
