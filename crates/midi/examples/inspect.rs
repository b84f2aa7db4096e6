//! Prints what a MIDI file holds: `cargo run -p midigpt-midi --example inspect -- FILE.mid`.

fn main() {
    for path in std::env::args().skip(1) {
        match midigpt_midi::Score::from_file(&path) {
            Ok(s) => {
                println!(
                    "{path}: tpq {} tempos {} time signatures {:?}",
                    s.ticks_per_quarter,
                    s.tempos.len(),
                    s.time_signatures
                );
                for t in &s.tracks {
                    println!(
                        "  {:?} program {} drum {} notes {} last {:?}",
                        t.name,
                        t.program,
                        t.is_drum,
                        t.notes.len(),
                        t.notes.last()
                    );
                    if std::env::var("NOTES").is_ok_and(|n| n == t.name) {
                        println!(
                            "{:?}",
                            t.notes
                                .iter()
                                .map(|n| (n.time, n.duration, n.pitch, n.velocity))
                                .collect::<Vec<_>>()
                        );
                    }
                }
            }
            Err(e) => println!("{path}: error: {e}"),
        }
    }
}
