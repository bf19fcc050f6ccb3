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
    outbox::a_row_published_before_republish_before_and_still_pending_is_claimed_again,
    outbox::resetting_the_unfinished_outbox_makes_pending_published_rows_claimable,
    outbox::complete_reschedule_and_fail_move_a_task_and_finished_tasks_stay_finished,
    outbox::outbox_stats_count_rows_and_pruning_deletes_only_rows_finished_before_the_cutoff,
    outbox::four_concurrent_claimers_over_200_rows_never_claim_the_same_row,
    records::idempotency_keeps_the_first_record_until_it_expires,
    records::twenty_concurrent_puts_of_one_key_all_return_the_same_record,
    records::audit_entries_list_newest_first_with_filters,
);
