//! The part of a backend that is the same for every sqlx driver, written once.
//!
//! The SQL is shared already (see [`crate::sql`]); what remains is binding values,
//! decoding rows and running a write plan in a transaction, which differ between drivers
//! only in their types. [`sqlx_backend!`](crate::sqlx_backend) implements [`crate::Backend`]
//! for a struct with a `pool` field, given the driver's types.

/// Implements [`Backend`](crate::Backend) for `$backend { pool: $pool }`.
///
/// The calling crate depends on `sqlx` with its driver enabled; `$begin` is the statement
/// that opens a write transaction, and `$bind_column` binds a [`Column`](crate::sql::Column)
/// as an array (or fails, where the driver has none: the dialect then makes none).
#[macro_export]
macro_rules! sqlx_backend {
    (
        backend: $backend:ty,
        database: $db:ty,
        arguments: $args:ty,
        row: $row:ty,
        dialect: $dialect:expr,
        begin: $begin:expr,
        kind: $kind:literal,
        scrub: $scrub:expr,
        max_connections: $max:expr,
        bind_column: $bind_column:path,
        watch: $watch:path $(,)?
    ) => {
        fn bind_all<'q>(
            mut query: sqlx::query::Query<'q, $db, $args>,
            binds: &'q [$crate::sql::Bind],
        ) -> Result<sqlx::query::Query<'q, $db, $args>, $crate::BackendError> {
            use $crate::sql::Bind;
            for bind in binds {
                query = match bind {
                    Bind::Text(v) => query.bind(v.as_str()),
                    Bind::OptText(v) => query.bind(v.as_deref()),
                    Bind::Bytes(v) => query.bind(v.as_slice()),
                    Bind::Int(v) => query.bind(*v),
                    Bind::OptInt(v) => query.bind(*v),
                    Bind::Bool(v) => query.bind(*v),
                    Bind::Column(column) => $bind_column(query, column)?,
                };
            }
            Ok(query)
        }

        fn database(error: sqlx::Error) -> $crate::BackendError {
            match &error {
                // A uniqueness or foreign-key check lost to a concurrent write (a patient
                // erased while their appointment was written).
                sqlx::Error::Database(db)
                    if db.is_unique_violation() || db.is_foreign_key_violation() =>
                {
                    $crate::BackendError::Conflict
                }
                _ => $crate::BackendError::Database(Box::new(error)),
            }
        }

        fn row_from(row: &$row) -> Result<$crate::backend::Row, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::backend::Row {
                resource_type: row.try_get(0)?,
                id: row.try_get(1)?,
                version: row.try_get(2)?,
                created_us: row.try_get(3)?,
                last_updated_us: row.try_get(4)?,
                deleted: row.try_get(5)?,
                key_id: row.try_get(6)?,
                body: row.try_get(7)?,
                start_us: row.try_get(8)?,
                end_us: row.try_get(9)?,
            })
        }

        fn enrollment_from(row: &$row) -> Result<$crate::work::EnrollmentRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::work::EnrollmentRow {
                id: row.try_get(0)?,
                journey: row.try_get(1)?,
                appointment_id: row.try_get(2)?,
                patient_id: row.try_get(3)?,
                trigger_seq: row.try_get(4)?,
                event_seq: row.try_get(5)?,
                step: row.try_get(6)?,
                wake_us: row.try_get(7)?,
                waiting: row.try_get(8)?,
                last_reply: row.try_get(9)?,
                ended: row.try_get(10)?,
                version: row.try_get(11)?,
                created_us: row.try_get(12)?,
                updated_us: row.try_get(13)?,
                lease_us: row.try_get(14)?,
            })
        }

        fn outbox_from(row: &$row) -> Result<$crate::work::OutboxRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::work::OutboxRow {
                id: row.try_get(0)?,
                idempotency_key: row.try_get(1)?,
                patient_id: row.try_get(2)?,
                channel: row.try_get(3)?,
                status: row.try_get(4)?,
                due_us: row.try_get(5)?,
                attempts: row.try_get(6)?,
                lease_us: row.try_get(7)?,
                provider_id: row.try_get(8)?,
                error_code: row.try_get(9)?,
                reason: row.try_get(10)?,
                unknown_resends: row.try_get(11)?,
                version: row.try_get(12)?,
                created_us: row.try_get(13)?,
                updated_us: row.try_get(14)?,
                purpose: row.try_get(15)?,
                sent_us: row.try_get(16)?,
                about_id: row.try_get(17)?,
            })
        }

        fn department_from(row: &$row) -> Result<$crate::staff::DepartmentRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::staff::DepartmentRow {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                on_call: row.try_get(2)?,
                created_us: row.try_get(3)?,
            })
        }

        /// An account without its departments, which are read apart.
        fn staff_from(row: &$row) -> Result<$crate::staff::StaffRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::staff::StaffRow {
                id: row.try_get(0)?,
                email: row.try_get(1)?,
                role: row.try_get(2)?,
                password_hash: row.try_get(3)?,
                failed_logins: row.try_get(4)?,
                locked_until_us: row.try_get(5)?,
                created_us: row.try_get(6)?,
                updated_us: row.try_get(7)?,
                departments: Vec::new(),
            })
        }

        fn session_from(row: &$row) -> Result<$crate::staff::SessionRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::staff::SessionRow {
                token_hash: row.try_get(0)?,
                staff_id: row.try_get(1)?,
                csrf: row.try_get(2)?,
                created_us: row.try_get(3)?,
                expires_us: row.try_get(4)?,
            })
        }

        fn audit_link_from(row: &$row) -> Result<$crate::audit::AuditLink, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::audit::AuditLink {
                seq: row.try_get(0)?,
                entry: $crate::audit::AuditEntry {
                    at_us: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    subject: row.try_get(4)?,
                },
                hash: $crate::sql_audit::hash_of(row.try_get(5)?),
            })
        }

        fn token_from(row: &$row) -> Result<$crate::tokens::TokenRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::tokens::TokenRow {
                org_id: row.try_get(0)?,
                name: row.try_get(1)?,
                created_us: row.try_get(2)?,
                revoked_us: row.try_get(3)?,
            })
        }

        fn conversation_from(
            row: &$row,
        ) -> Result<$crate::conversations::ConversationRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::conversations::ConversationRow {
                patient_id: row.try_get(0)?,
                state: row.try_get(1)?,
                snoozed_until_us: row.try_get(2)?,
                assignee: row.try_get(3)?,
                department: row.try_get(4)?,
                priority: row.try_get(5)?,
                tags: row.try_get(6)?,
                waiting_since_us: row.try_get(7)?,
                due_us: row.try_get(8)?,
                escalations: row.try_get(9)?,
                last_channel: row.try_get(10)?,
                last_message_us: row.try_get(11)?,
                queue_us: row.try_get(12)?,
                key_id: row.try_get(13)?,
                preview: row.try_get(14)?,
                version: row.try_get(15)?,
                created_us: row.try_get(16)?,
                updated_us: row.try_get(17)?,
                opened_us: row.try_get(18)?,
            })
        }

        fn conversation_event_from(
            row: &$row,
        ) -> Result<$crate::conversations::ConversationEventRow, sqlx::Error> {
            use sqlx::Row as _;
            let key_id: Option<String> = row.try_get(6)?;
            let note: Option<Vec<u8>> = row.try_get(7)?;
            Ok($crate::conversations::ConversationEventRow {
                id: row.try_get(0)?,
                patient_id: row.try_get(1)?,
                at_us: row.try_get(2)?,
                actor: row.try_get(3)?,
                kind: row.try_get(4)?,
                detail: row.try_get(5)?,
                // An event without a note keeps an empty one.
                note: note.filter(|_| key_id.is_some()),
                key_id,
            })
        }

        fn saved_reply_from(row: &$row) -> Result<$crate::staff::SavedReplyRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::staff::SavedReplyRow {
                id: row.try_get(0)?,
                department: row.try_get(1)?,
                title: row.try_get(2)?,
                body: row.try_get(3)?,
                created_us: row.try_get(4)?,
            })
        }

        fn playbook_from(row: &$row) -> Result<$crate::playbook::PlaybookRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::playbook::PlaybookRow {
                book: row.try_get(0)?,
                id: row.try_get(1)?,
                position: row.try_get(2)?,
                definition: row.try_get(3)?,
                updated_us: row.try_get(4)?,
            })
        }

        fn open_count_from(row: &$row) -> Result<$crate::conversations::OpenCount, sqlx::Error> {
            use sqlx::Row as _;
            Ok($crate::conversations::OpenCount {
                department: row.try_get(0)?,
                priority: row.try_get(1)?,
                open: row.try_get(2)?,
                overdue: row.try_get(3)?,
            })
        }

        fn text_from(row: &$row) -> Result<String, sqlx::Error> {
            use sqlx::Row as _;
            row.try_get(0)
        }

        /// One statement that must change one row, in the writers' turn.
        async fn execute_one(
            writer: &sqlx::Pool<$db>,
            writes: &$crate::WriteTurns,
            step: &$crate::sql::Step,
        ) -> Result<(), $crate::BackendError> {
            let _turn = writes.take().await;
            let changed = bind_all(sqlx::query(&step.sql), &step.binds)?
                .execute(writer)
                .await
                .map_err(database)?
                .rows_affected();
            if changed == 1 {
                Ok(())
            } else {
                Err($crate::BackendError::Conflict)
            }
        }

        /// The account `step` selects, with its departments.
        async fn fetch_staff(
            pool: &sqlx::Pool<$db>,
            org: &str,
            step: &$crate::sql::Step,
        ) -> Result<Option<$crate::staff::StaffRow>, $crate::BackendError> {
            let Some(mut staff) = fetch_rows(pool, step, staff_from).await?.pop() else {
                return Ok(None);
            };
            let step = $crate::sql_staff::memberships($dialect, org, &staff.id);
            staff.departments = fetch_rows(pool, &step, text_from).await?;
            Ok(Some(staff))
        }

        async fn fetch_rows<T>(
            pool: &sqlx::Pool<$db>,
            step: &$crate::sql::Step,
            decode: fn(&$row) -> Result<T, sqlx::Error>,
        ) -> Result<Vec<T>, $crate::BackendError> {
            let rows = bind_all(sqlx::query(&step.sql), &step.binds)?
                .fetch_all(pool)
                .await
                .map_err(database)?;
            rows.iter()
                .map(decode)
                .collect::<Result<_, _>>()
                .map_err(database)
        }

        #[async_trait::async_trait]
        impl $crate::Backend for $backend {
            async fn enrollments(
                &self,
                org: &str,
                query: &$crate::work::EnrollmentQuery,
            ) -> Result<Vec<$crate::work::EnrollmentRow>, $crate::BackendError> {
                let step = $crate::sql_work::enrollments($dialect, org, query);
                fetch_rows(&self.pool, &step, enrollment_from).await
            }

            async fn outbox(
                &self,
                org: &str,
                query: &$crate::work::OutboxQuery,
            ) -> Result<Vec<$crate::work::OutboxRow>, $crate::BackendError> {
                let step = $crate::sql_work::outbox($dialect, org, query);
                fetch_rows(&self.pool, &step, outbox_from).await
            }

            async fn claim_due_enrollments(
                &self,
                org: &str,
                now_us: i64,
                lease_us: i64,
                limit: i64,
            ) -> Result<Vec<$crate::work::EnrollmentRow>, $crate::BackendError> {
                let _turn = self.writes.take().await;
                let step =
                    $crate::sql_work::claim_due_enrollments($dialect, org, now_us, lease_us, limit);
                fetch_rows(&self.writer, &step, enrollment_from).await
            }

            async fn claim_outbox(
                &self,
                org: &str,
                now_us: i64,
                lease_us: i64,
                limit: i64,
            ) -> Result<Vec<$crate::work::OutboxRow>, $crate::BackendError> {
                let _turn = self.writes.take().await;
                let step = $crate::sql_work::claim_outbox($dialect, org, now_us, lease_us, limit);
                fetch_rows(&self.writer, &step, outbox_from).await
            }

            async fn sweep_outbox(
                &self,
                org: &str,
                now_us: i64,
                wait_until_us: i64,
            ) -> Result<u64, $crate::BackendError> {
                let _turn = self.writes.take().await;
                let mut tx = self.writer.begin_with($begin).await.map_err(database)?;
                let mut moved = 0;
                for step in $crate::sql_work::sweep_outbox($dialect, org, now_us, wait_until_us) {
                    moved += bind_all(sqlx::query(&step.sql), &step.binds)?
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?
                        .rows_affected();
                }
                tx.commit().await.map_err(database)?;
                Ok(moved)
            }

            async fn sent_counts(
                &self,
                org: &str,
                query: &$crate::work::SentQuery,
            ) -> Result<$crate::work::SentCounts, $crate::BackendError> {
                use sqlx::Row as _;
                let step = $crate::sql_work::sent_counts($dialect, org, query);
                let row = bind_all(sqlx::query(&step.sql), &step.binds)?
                    .fetch_one(&self.pool)
                    .await
                    .map_err(database)?;
                Ok($crate::work::SentCounts {
                    today: row.try_get(0).map_err(database)?,
                    this_week: row.try_get(1).map_err(database)?,
                })
            }

            async fn take_send_rate(
                &self,
                org: &str,
                take: &$crate::work::RateTake,
                now_us: i64,
            ) -> Result<i64, $crate::BackendError> {
                use sqlx::Row as _;
                let _turn = self.writes.take().await;
                let [create, take] = $crate::sql_work::take_send_rate($dialect, org, take, now_us);
                let mut tx = self.writer.begin_with($begin).await.map_err(database)?;
                bind_all(sqlx::query(&create.sql), &create.binds)?
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                let row = bind_all(sqlx::query(&take.sql), &take.binds)?
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(database)?;
                let granted: i64 = row.try_get(0).map_err(database)?;
                tx.commit().await.map_err(database)?;
                Ok(granted)
            }

            async fn append_audit(
                &self,
                org: &str,
                entry: $crate::audit::AuditEntry,
            ) -> Result<$crate::audit::AuditLink, $crate::BackendError> {
                use sqlx::Row as _;
                let _turn = self.writes.take().await;
                let mut tx = self.writer.begin_with($begin).await.map_err(database)?;
                let tail = $crate::sql_audit::tail($dialect, org);
                let tail = bind_all(sqlx::query(&tail.sql), &tail.binds)?
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(database)?
                    .map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?)))
                    .transpose()
                    .map_err(database)?;
                let link = $crate::sql_audit::next_link(tail, entry);
                let insert = $crate::sql_audit::insert($dialect, org, &link);
                bind_all(sqlx::query(&insert.sql), &insert.binds)?
                    .execute(&mut *tx)
                    .await
                    .map_err(database)?;
                tx.commit().await.map_err(database)?;
                Ok(link)
            }

            async fn audit_page(
                &self,
                org: &str,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::audit::AuditLink>, $crate::BackendError> {
                let step = $crate::sql_audit::page($dialect, org, after_seq, limit);
                fetch_rows(&self.pool, &step, audit_link_from).await
            }

            async fn add_department(
                &self,
                org: &str,
                row: &$crate::staff::DepartmentRow,
            ) -> Result<(), $crate::BackendError> {
                let _turn = self.writes.take().await;
                let step = $crate::sql_staff::insert_department($dialect, org, row);
                bind_all(sqlx::query(&step.sql), &step.binds)?
                    .execute(&self.writer)
                    .await
                    .map_err(database)?;
                Ok(())
            }

            async fn departments(
                &self,
                org: &str,
            ) -> Result<Vec<$crate::staff::DepartmentRow>, $crate::BackendError> {
                let step = $crate::sql_staff::departments($dialect, org);
                fetch_rows(&self.pool, &step, department_from).await
            }

            async fn add_staff(
                &self,
                org: &str,
                row: &$crate::staff::StaffRow,
            ) -> Result<(), $crate::BackendError> {
                let _turn = self.writes.take().await;
                let mut tx = self.writer.begin_with($begin).await.map_err(database)?;
                for step in $crate::sql_staff::insert_staff($dialect, org, row) {
                    bind_all(sqlx::query(&step.sql), &step.binds)?
                        .execute(&mut *tx)
                        .await
                        .map_err(database)?;
                }
                tx.commit().await.map_err(database)
            }

            async fn staff_by_email(
                &self,
                org: &str,
                email: &str,
            ) -> Result<Option<$crate::staff::StaffRow>, $crate::BackendError> {
                let step = $crate::sql_staff::staff_by_email($dialect, org, email);
                fetch_staff(&self.pool, org, &step).await
            }

            async fn add_saved_reply(
                &self,
                org: &str,
                row: &$crate::staff::SavedReplyRow,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::sql_staff::insert_saved_reply($dialect, org, row);
                execute_one(&self.writer, &self.writes, &step).await
            }

            async fn saved_replies(
                &self,
                org: &str,
            ) -> Result<Vec<$crate::staff::SavedReplyRow>, $crate::BackendError> {
                let step = $crate::sql_staff::saved_replies($dialect, org);
                fetch_rows(&self.pool, &step, saved_reply_from).await
            }

            async fn writers(
                &self,
                org: &str,
                hashes: &[Vec<u8>],
                limit: i64,
            ) -> Result<Vec<String>, $crate::BackendError> {
                let step = $crate::sql_conversations::writers($dialect, org, hashes, limit);
                fetch_rows(&self.pool, &step, text_from).await
            }

            async fn search_ids(
                &self,
                org: &str,
                search: &$crate::backend::HashedSearch,
            ) -> Result<Vec<String>, $crate::BackendError> {
                let step = $crate::sql::search_ids($dialect, org, search);
                fetch_rows(&self.pool, &step, text_from).await
            }

            async fn playbook(
                &self,
                org: &str,
                book: &str,
            ) -> Result<Vec<$crate::playbook::PlaybookRow>, $crate::BackendError> {
                let step = $crate::sql_playbook::book($dialect, org, book);
                fetch_rows(&self.pool, &step, playbook_from).await
            }

            async fn all_staff(
                &self,
                org: &str,
            ) -> Result<Vec<$crate::staff::StaffRow>, $crate::BackendError> {
                use sqlx::Row as _;
                let step = $crate::sql_staff::all_staff($dialect, org);
                let mut staff = fetch_rows(&self.pool, &step, staff_from).await?;
                let step = $crate::sql_staff::all_memberships($dialect, org);
                let rows = bind_all(sqlx::query(&step.sql), &step.binds)?
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                for row in rows {
                    let staff_id: String = row.try_get(0).map_err(database)?;
                    let department: String = row.try_get(1).map_err(database)?;
                    if let Some(account) = staff.iter_mut().find(|s| s.id == staff_id) {
                        account.departments.push(department);
                    }
                }
                Ok(staff)
            }

            async fn staff_by_id(
                &self,
                org: &str,
                id: &str,
            ) -> Result<Option<$crate::staff::StaffRow>, $crate::BackendError> {
                let step = $crate::sql_staff::staff_by_id($dialect, org, id);
                fetch_staff(&self.pool, org, &step).await
            }

            async fn set_login_failures(
                &self,
                org: &str,
                staff_id: &str,
                failures: i64,
                locked_until_us: Option<i64>,
                now_us: i64,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::sql_staff::set_failures(
                    $dialect,
                    org,
                    staff_id,
                    failures,
                    locked_until_us,
                    now_us,
                );
                execute_one(&self.writer, &self.writes, &step).await
            }

            async fn insert_session(
                &self,
                org: &str,
                row: &$crate::staff::SessionRow,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::sql_staff::insert_session($dialect, org, row);
                execute_one(&self.writer, &self.writes, &step).await
            }

            async fn session(
                &self,
                org: &str,
                token_hash: &[u8],
                now_us: i64,
            ) -> Result<Option<$crate::staff::SessionRow>, $crate::BackendError> {
                let step = $crate::sql_staff::session($dialect, org, token_hash, now_us);
                Ok(fetch_rows(&self.pool, &step, session_from).await?.pop())
            }

            async fn delete_session(
                &self,
                org: &str,
                token_hash: &[u8],
                now_us: i64,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::sql_staff::delete_session($dialect, org, token_hash, now_us);
                let _turn = self.writes.take().await;
                bind_all(sqlx::query(&step.sql), &step.binds)?
                    .execute(&self.writer)
                    .await
                    .map_err(database)?;
                Ok(())
            }

            async fn insert_api_token(
                &self,
                org: &str,
                name: &str,
                token_hash: &[u8],
                now_us: i64,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::tokens::insert($dialect, org, name, token_hash, now_us);
                execute_one(&self.writer, &self.writes, &step).await
            }

            async fn api_token(
                &self,
                token_hash: &[u8],
            ) -> Result<Option<$crate::tokens::TokenRow>, $crate::BackendError> {
                let step = $crate::tokens::by_hash($dialect, token_hash);
                Ok(fetch_rows(&self.pool, &step, token_from).await?.pop())
            }

            async fn api_tokens(
                &self,
                org: &str,
            ) -> Result<Vec<$crate::tokens::TokenRow>, $crate::BackendError> {
                let step = $crate::tokens::list($dialect, org);
                fetch_rows(&self.pool, &step, token_from).await
            }

            async fn revoke_api_token(
                &self,
                org: &str,
                name: &str,
                now_us: i64,
            ) -> Result<(), $crate::BackendError> {
                let step = $crate::tokens::revoke($dialect, org, name, now_us);
                execute_one(&self.writer, &self.writes, &step).await
            }

            async fn ping(&self) -> Result<(), $crate::BackendError> {
                sqlx::query($crate::sql::PING)
                    .execute(&self.pool)
                    .await
                    .map_err(database)?;
                Ok(())
            }

            async fn heads(
                &self,
                org: &str,
                resource_type: &str,
                ids: &[String],
            ) -> Result<Vec<(String, $crate::backend::Head)>, $crate::BackendError> {
                use sqlx::Row as _;
                let step = $crate::sql::heads($dialect, org, resource_type, ids);
                let rows = bind_all(sqlx::query(&step.sql), &step.binds)?
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get(0)?,
                            $crate::backend::Head {
                                version: r.try_get(1)?,
                                deleted: r.try_get(2)?,
                                key_id: r.try_get(3)?,
                                created_us: r.try_get(4)?,
                                last_updated_us: r.try_get(5)?,
                            },
                        ))
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(database)
            }

            async fn fetch(
                &self,
                org: &str,
                resource_type: &str,
                id: &str,
            ) -> Result<Option<$crate::backend::Row>, $crate::BackendError> {
                let sql = $dialect.render(&$crate::sql::fetch());
                let row = sqlx::query(&sql)
                    .bind(org)
                    .bind(resource_type)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                row.as_ref().map(row_from).transpose().map_err(database)
            }

            async fn wrapped_keys(
                &self,
                org: &str,
                key_ids: &[String],
            ) -> Result<Vec<(String, Vec<u8>)>, $crate::BackendError> {
                use sqlx::Row as _;
                let step = $crate::sql::wrapped_keys($dialect, org, key_ids);
                let rows = bind_all(sqlx::query(&step.sql), &step.binds)?
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(database)
            }

            async fn search(
                &self,
                org: &str,
                search: &$crate::backend::HashedSearch,
            ) -> Result<(Vec<$crate::backend::Row>, u64), $crate::BackendError> {
                use sqlx::Row as _;
                let (page, count) = $crate::sql::search($dialect, org, search);
                let rows = bind_all(sqlx::query(&page.sql), &page.binds)?
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                // A page that is not full, and found something or started at the top,
                // holds the last match; so does a first page with room for every id
                // searched for. The total then follows without counting.
                let found = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                let ids = i64::try_from(search.ids.len()).unwrap_or(i64::MAX);
                let last = found < search.limit && (found > 0 || search.offset == 0);
                let every_id = !search.ids.is_empty() && ids <= search.limit && search.offset == 0;
                let total: i64 = if last || every_id {
                    search.offset + found
                } else {
                    bind_all(sqlx::query(&count.sql), &count.binds)?
                        .fetch_one(&self.pool)
                        .await
                        .and_then(|r| r.try_get(0))
                        .map_err(database)?
                };
                let rows = rows
                    .iter()
                    .map(row_from)
                    .collect::<Result<_, _>>()
                    .map_err(database)?;
                Ok((rows, u64::try_from(total).unwrap_or(0)))
            }

            async fn unhandled_events(
                &self,
                org: &str,
                limit: i64,
            ) -> Result<Vec<$crate::backend::EventRow>, $crate::BackendError> {
                use sqlx::Row as _;
                let sql = $dialect.render($crate::sql::UNHANDLED_EVENTS);
                let rows = sqlx::query(&sql)
                    .bind(org)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(database)?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::backend::EventRow {
                            seq: r.try_get(0)?,
                            name: r.try_get(1)?,
                            resource_type: r.try_get(2)?,
                            resource_id: r.try_get(3)?,
                            version: r.try_get(4)?,
                            created_us: r.try_get(5)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(database)
            }

            async fn mark_events_handled(
                &self,
                org: &str,
                seqs: &[i64],
                handled_us: i64,
            ) -> Result<(), $crate::BackendError> {
                let _turn = self.writes.take().await;
                let step = $crate::sql::mark_events_handled($dialect, org, seqs, handled_us);
                bind_all(sqlx::query(&step.sql), &step.binds)?
                    .execute(&self.writer)
                    .await
                    .map_err(database)?;
                Ok(())
            }

            async fn conversation(
                &self,
                org: &str,
                patient_id: &str,
            ) -> Result<Option<$crate::conversations::ConversationRow>, $crate::BackendError> {
                let step = $crate::sql_conversations::conversation($dialect, org, patient_id);
                Ok(fetch_rows(&self.pool, &step, conversation_from)
                    .await?
                    .pop())
            }

            async fn conversations(
                &self,
                org: &str,
                query: &$crate::conversations::ConversationQuery,
            ) -> Result<Vec<$crate::conversations::ConversationRow>, $crate::BackendError> {
                let step = $crate::sql_conversations::queue($dialect, org, query);
                fetch_rows(&self.pool, &step, conversation_from).await
            }

            async fn count_conversations(
                &self,
                org: &str,
                query: &$crate::conversations::ConversationQuery,
            ) -> Result<i64, $crate::BackendError> {
                use sqlx::Row as _;
                let step = $crate::sql_conversations::count($dialect, org, query);
                let row = bind_all(sqlx::query(&step.sql), &step.binds)?
                    .fetch_one(&self.pool)
                    .await
                    .map_err(database)?;
                row.try_get(0).map_err(database)
            }

            async fn open_conversation_counts(
                &self,
                org: &str,
                now_us: i64,
            ) -> Result<Vec<$crate::conversations::OpenCount>, $crate::BackendError> {
                let step = $crate::sql_conversations::open_counts($dialect, org, now_us);
                fetch_rows(&self.pool, &step, open_count_from).await
            }

            async fn event_details_since(
                &self,
                org: &str,
                kind: &str,
                since_us: i64,
                limit: i64,
            ) -> Result<Vec<String>, $crate::BackendError> {
                let step =
                    $crate::sql_conversations::details_since($dialect, org, kind, since_us, limit);
                fetch_rows(&self.pool, &step, text_from).await
            }

            async fn conversation_events(
                &self,
                org: &str,
                patient_id: &str,
            ) -> Result<Vec<$crate::conversations::ConversationEventRow>, $crate::BackendError>
            {
                let step = $crate::sql_conversations::events($dialect, org, patient_id);
                fetch_rows(&self.pool, &step, conversation_event_from).await
            }

            async fn apply(
                &self,
                org: &str,
                ops: &[$crate::backend::WriteOp],
            ) -> Result<(), $crate::BackendError> {
                let _turn = self.writes.take().await;
                let mut tx = self.writer.begin_with($begin).await.map_err(database)?;
                {
                    for step in $crate::sql_batch::write_steps($dialect, org, ops) {
                        let query = bind_all(sqlx::query(&step.sql), &step.binds)?;
                        let holds = match step.check {
                            $crate::sql::Check::CountsZero => {
                                use sqlx::Row as _;
                                let row = query.fetch_one(&mut *tx).await.map_err(database)?;
                                row.try_get::<i64, _>(0).map_err(database)? == 0
                            }
                            check => {
                                let changed = query
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(database)?
                                    .rows_affected();
                                match check {
                                    $crate::sql::Check::ChangesOne => changed == 1,
                                    $crate::sql::Check::Changes(n) => changed == n,
                                    _ => true,
                                }
                            }
                        };
                        if !holds {
                            // Dropping the transaction rolls every earlier step back.
                            return Err($crate::BackendError::Conflict);
                        }
                    }
                }
                tx.commit().await.map_err(database)
            }

            async fn scrub(&self) -> Result<(), $crate::BackendError> {
                let statement: Option<&str> = $scrub;
                if let Some(sql) = statement {
                    sqlx::query(sql)
                        .execute(&self.pool)
                        .await
                        .map_err(database)?;
                }
                Ok(())
            }

            fn pool_stats(&self) -> $crate::PoolStats {
                $crate::PoolStats {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: $max,
                }
            }

            fn kind(&self) -> &'static str {
                $kind
            }

            fn watch_conversations(&self, changes: $crate::ConversationChanges) -> bool {
                $watch(&self.pool, changes)
            }
        }
    };
}
