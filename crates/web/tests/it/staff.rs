//! Staff accounts and departments on both databases: an account belongs to departments
//! that exist, is found by its email in any case, and keeps only a hash of its password.

use careloop_domain::OrgId;
use careloop_domain::staff::{DepartmentKey, NewPassword, Role};
use careloop_store::password;
use careloop_store::staff::{NewStaff, StaffStoreError};

use crate::harness::TestApp;

crate::on_both_backends!(an_account_is_found_by_email_and_checks_its_password);

async fn an_account_is_found_by_email_and_checks_its_password(app: &TestApp) {
    let org = OrgId::default_org();
    let nursing = DepartmentKey::parse("nursing").unwrap();
    let front = DepartmentKey::parse("front-desk").unwrap();
    app.store
        .add_department(&org, &nursing, "Nursing", Some("+16175550199"))
        .await
        .unwrap();
    app.store
        .add_department(&org, &front, "Front desk", None)
        .await
        .unwrap();
    assert!(matches!(
        app.store.add_department(&org, &nursing, "Again", None).await,
        Err(StaffStoreError::DepartmentTaken(key)) if key == "nursing"
    ));
    let departments = app.store.departments(&org).await.unwrap();
    let keys: Vec<&str> = departments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(keys, ["front-desk", "nursing"]);
    assert_eq!(departments[1].on_call.as_deref(), Some("+16175550199"));

    let secret = NewPassword::parse("a long and private phrase".into()).unwrap();
    let added = app
        .store
        .add_staff(
            &org,
            &NewStaff {
                email: "Nurse.Ana@Clinic.example",
                role: Role::Clinician,
                departments: &[nursing.clone(), front.clone(), nursing.clone()],
                password: &secret,
            },
        )
        .await
        .unwrap();
    let found = app
        .store
        .staff_by_email(&org, " nurse.ana@clinic.EXAMPLE ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, added);
    assert_eq!(found.email, "nurse.ana@clinic.example");
    assert_eq!(found.role, "clinician");
    assert_eq!(found.departments, ["front-desk", "nursing"]);
    assert!(password::verify(
        &found.password_hash,
        "a long and private phrase"
    ));
    assert!(!password::verify(
        &found.password_hash,
        "a long and private phrasE"
    ));
    assert!(!app.raw_database().await.windows(7).any(|w| w == b"private"));

    let again = NewStaff {
        email: "NURSE.ANA@clinic.example",
        role: Role::Agent,
        departments: std::slice::from_ref(&front),
        password: &secret,
    };
    assert!(matches!(
        app.store.add_staff(&org, &again).await,
        Err(StaffStoreError::EmailTaken)
    ));
    let billing = DepartmentKey::parse("billing").unwrap();
    let elsewhere = NewStaff {
        email: "bo@clinic.example",
        departments: &[billing],
        ..again
    };
    assert!(matches!(
        app.store.add_staff(&org, &elsewhere).await,
        Err(StaffStoreError::NoDepartment(key)) if key == "billing"
    ));
    assert!(
        app.store
            .staff_by_email(&org, "bo@clinic.example")
            .await
            .unwrap()
            .is_none()
    );
}
