//! Templates and servers, on SQLite and PostgreSQL: validation, ownership,
//! state changes and their history.

use gsp_control::auth::Role;
use gsp_control::servers::{NewTemplate, Port, ServerError, ServerState, Servers};
use gsp_store::testing::TestDb;

fn world_template() -> NewTemplate {
    NewTemplate {
        name: "gsp-world".into(),
        runtime: "command".into(),
        launch: "gsp world".into(),
        ports: Port::gsp_world(),
        cpu_millis: 1000,
        memory_mib: 512,
        price_per_hour: 1500,
        idle_minutes: 15,
        idle_seconds: None,
        game: Default::default(),
    }
}

async fn templates_servers_and_owners(t: TestDb) {
    let servers = Servers::new(t.db().clone());
    let template = servers.create_template(&world_template()).await.unwrap();
    assert_eq!(template.ports.len(), 2);
    assert!(matches!(
        servers.create_template(&world_template()).await,
        Err(ServerError::NameTaken)
    ));
    for bad in [
        NewTemplate {
            runtime: "vm".into(),
            name: "x".into(),
            ..world_template()
        },
        NewTemplate {
            name: "   ".into(),
            ..world_template()
        },
        NewTemplate {
            name: "y".into(),
            memory_mib: 0,
            ..world_template()
        },
        NewTemplate {
            name: "z".into(),
            ports: vec![Port {
                name: "p".into(),
                protocol: "sctp".into(),
                port: None,
            }],
            ..world_template()
        },
    ] {
        assert!(matches!(
            servers.create_template(&bad).await,
            Err(ServerError::Invalid(_))
        ));
    }
    assert_eq!(servers.templates().await.unwrap().len(), 1);

    let (ada, bob, root) = (1, 2, 3);
    let a = servers
        .create(ada, template.id, "Ada's town")
        .await
        .unwrap();
    assert_eq!(a.state, ServerState::Running);
    let b = servers.create(bob, template.id, "Bob's").await.unwrap();
    assert!(matches!(
        servers.create(ada, 999, "nope").await,
        Err(ServerError::Invalid(_))
    ));
    // Customers see their own only; admins see all.
    assert_eq!(
        servers.list(ada, Role::Customer).await.unwrap(),
        vec![a.clone()]
    );
    assert!(servers
        .get(bob, Role::Customer, a.id)
        .await
        .unwrap()
        .is_none());
    assert!(servers
        .get(root, Role::Admin, a.id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(servers.list(root, Role::Admin).await.unwrap().len(), 2);

    // Hibernate, wake, delete; the history says when and why.
    servers
        .transition(a.id, ServerState::Hibernated, 1_000, "idle")
        .await
        .unwrap();
    assert!(matches!(
        servers
            .transition(a.id, ServerState::Hibernated, 1_001, "idle")
            .await,
        Err(ServerError::WrongState("hibernated"))
    ));
    servers
        .transition(a.id, ServerState::Running, 2_000, "wake:proxy")
        .await
        .unwrap();
    servers
        .transition(a.id, ServerState::Deleted, 3_000, "user:1")
        .await
        .unwrap();
    assert!(servers
        .get(ada, Role::Customer, a.id)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        servers
            .transition(a.id, ServerState::Running, 4_000, "x")
            .await,
        Err(ServerError::NotFound)
    ));
    let history: Vec<(ServerState, String)> = servers
        .history(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, _, cause)| (s, cause))
        .collect();
    assert_eq!(
        history,
        vec![
            (ServerState::Running, "user:1".into()),
            (ServerState::Hibernated, "idle".into()),
            (ServerState::Running, "wake:proxy".into()),
            (ServerState::Deleted, "user:1".into()),
        ]
    );
    assert_eq!(servers.history(b.id).await.unwrap().len(), 1);
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn templates_servers_and_owners(t) {
        templates_servers_and_owners(t).await;
    }
}
