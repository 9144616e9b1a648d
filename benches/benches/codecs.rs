//! The wire codecs: snapshot envelopes, inputs, and the telnet codec.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gsp_gateways::telnet::protocol::{CodecConfig, TelnetCodec};
use gsp_protocol::snapshot::SnapshotHeader;
use gsp_protocol::{encode_snapshot, limits, ClientDatagram, Moves, ServerDatagram};
use std::hint::black_box;

fn snapshot(c: &mut Criterion) {
    // The envelope around a full payload; the payload's own cost is in the
    // replication bench.
    let header = SnapshotHeader {
        sequence: 1,
        baseline: 0,
        tick: 1,
        last_input: 0,
    };
    let payload = vec![0x5A; 1000];
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let bytes = encode_snapshot(&mut fbb, &header, &payload).to_vec();
    assert!(bytes.len() <= limits::MAX_DATAGRAM_BYTES);
    let mut group = c.benchmark_group("snapshot_datagram");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("envelope_encode", |b| {
        b.iter(|| encode_snapshot(&mut fbb, black_box(&header), black_box(&payload)).len())
    });
    group.bench_function("envelope_decode", |b| {
        b.iter(|| ServerDatagram::decode(black_box(&bytes)).unwrap())
    });
    group.finish();

    let input = ClientDatagram::Input {
        sequence: 42,
        moves: Moves::new(&[[0.5, -1.0]; 4]),
        ack: 1234,
        ack_bits: u64::MAX,
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

criterion_group!(benches, snapshot, telnet);
criterion_main!(benches);
