//! Inputs the fuzzer (`fuzz/`, target `midi_read`) found crashing, minimized: each must now
//! give an error naming the problem, or read and write back.

use midigpt_midi::{MidiError, Score};

/// A header chunk: format 1, one track, the given time division.
fn header(division: [u8; 2]) -> Vec<u8> {
    let mut bytes = b"MThd\0\0\0\x06\0\x01\0\x01".to_vec();
    bytes.extend(division);
    bytes
}

#[test]
fn smpte_division_with_frame_byte_0x80_is_refused() {
    // midly negates the frame-rate byte as an i8: -(-128) overflowed.
    for division in [[0x80, 0x00], [0x80, 0x28], [0xE7, 0x28]] {
        match Score::from_bytes(&header(division)) {
            Err(MidiError::Smpte) => {}
            other => panic!("{division:x?}: expected the SMPTE error, got {other:?}"),
        }
    }
}

#[test]
fn a_second_header_chunk_is_refused() {
    // midly reads a header chunk found among the tracks, negating its frame byte too.
    let bytes = [header([0x01, 0xE0]), header([0x80, 0x00])].concat();
    match Score::from_bytes(&bytes) {
        Err(MidiError::Malformed(message)) => assert!(message.contains("second header")),
        other => panic!("expected a malformed-file error, got {other:?}"),
    }
}

#[test]
fn riff_nested_in_riff_is_refused() {
    // The inner RIFF went to midly's own unwrapping, past the division check.
    let inner = [
        b"RIFF\x12\0\0\0RMIDdata\x06\0\0\0".as_slice(),
        &header([0x80, 0]),
    ]
    .concat();
    let mut outer = b"RIFF\0\0\0\0RMIDdata".to_vec();
    outer.extend((inner.len() as u32).to_le_bytes());
    outer.extend(&inner);
    assert!(matches!(Score::from_bytes(&outer), Err(MidiError::BadRiff)));
}

#[test]
fn gaps_longer_than_a_delta_time_write_and_read_back() {
    // A note held across an event with the largest delta time (2^28 - 1): its note-off lies
    // further from its note-on than one delta can say, and writing failed.
    let track = [
        b"\x00\x90\x3C\x40".as_slice(),  // note on
        b"\xFF\xFF\xFF\x7F\xFF\x01\x00", // 2^28 - 1 ticks later, an empty text event
        b"\x10\x80\x3C\x00",             // 16 ticks later, note off
        b"\x00\xFF\x2F\x00",             // end of track
    ]
    .concat();
    let mut bytes = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    let score = Score::from_bytes(&bytes).expect("reads");
    assert_eq!(score.tracks[0].notes[0].duration, (1 << 28) - 1 + 16);
    let back = Score::from_bytes(&score.to_bytes().expect("writes")).expect("reads back");
    assert_eq!(back.tracks[0].notes, score.tracks[0].notes);
}
