//! The wire codecs: state datagrams, inputs, and the telnet codec.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gsp_gateways::telnet::protocol::{CodecConfig, TelnetCodec};
use gsp_protocol::{limits, ClientDatagram, EntityState, ServerDatagram};
use std::hint::black_box;

fn state(c: &mut Criterion) {
    let n = ServerDatagram::max_entities(1100);
    let state = ServerDatagram::State {
        tick: 123_456,
        last_input: 789,
        entities: (0..n as u64)
            .map(|i| EntityState {
                id: i << 32 | 7,
                position: [i as f32, 0.0, -(i as f32)],
            })
            .collect(),
    };
    let bytes = state.encode();
    assert!(bytes.len() <= limits::MAX_DATAGRAM_BYTES);
    let mut group = c.benchmark_group("state_datagram");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("encode", |b| b.iter(|| black_box(&state).encode()));
    group.bench_function("decode", |b| {
        b.iter(|| ServerDatagram::decode(black_box(&bytes)).unwrap())
    });
    group.finish();

    let input = ClientDatagram::Input {
        sequence: 42,
        move_x: 0.5,
        move_z: -1.0,
    }
    .encode();
    c.bench_function("input_datagram/decode", |b| {
        b.iter(|| ClientDatagram::decode(black_box(&input)).unwrap())
    });
}

fn telnet(c: &mut Criterion) {
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend_from_slice(format!("say hello number {i}, héllo wörld\r\n").as_bytes());
        if i % 50 == 0 {
            stream.extend_from_slice(&[255, 253, 24, 255, 251, 31, 255, 255]);
        }
    }
    let mut group = c.benchmark_group("telnet");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("receive_lines", |b| {
        b.iter(|| {
            let mut codec = TelnetCodec::new(CodecConfig::default());
            let events = codec.receive(black_box(&stream));
            (events.len(), codec.take_output().len())
        })
    });
    group.finish();
}

criterion_group!(benches, state, telnet);
criterion_main!(benches);
