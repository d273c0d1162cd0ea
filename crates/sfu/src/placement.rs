//! Which worker owns which room. A new room goes to the worker with the
//! least forwarding work, so a node's cores fill evenly: placing rooms by a
//! hash of their id left one of two workers with 15 of 24 rooms, and the
//! node was full when that worker was.
//!
//! A room keeps its worker while it exists there or a call about it is on
//! its way there; only then may a later call place it anew. Otherwise a
//! join racing the last leave could open the same room on two workers.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ids::RoomId;

pub(crate) struct Placement {
    state: Mutex<State>,
}

struct State {
    rooms: HashMap<RoomId, Slot>,
    /// Publisher-subscriber pairs over each worker's rooms, n(n-1) for a
    /// room of n: what forwarding costs grow with. Reported by the workers.
    pairs: Vec<usize>,
}

struct Slot {
    worker: usize,
    /// Calls sent to the worker and not yet handled by it.
    in_flight: usize,
}

impl Placement {
    pub fn new(workers: usize) -> Placement {
        Placement {
            state: Mutex::new(State {
                rooms: HashMap::new(),
                pairs: vec![0; workers.max(1)],
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The worker a call about `room` goes to, placing the room on the
    /// lightest worker when it has none: fewest pairs, then fewest rooms.
    /// The call counts as in flight until the worker reports it
    /// [`handled`](Self::handled).
    pub fn route(&self, room: &RoomId) -> usize {
        let mut state = self.state();
        if let Some(slot) = state.rooms.get_mut(room) {
            slot.in_flight += 1;
            return slot.worker;
        }
        let rooms = state.rooms_per_worker();
        let worker = (0..rooms.len())
            .min_by_key(|&w| (state.pairs[w], rooms[w]))
            .unwrap_or(0);
        state.rooms.insert(
            room.clone(),
            Slot {
                worker,
                in_flight: 1,
            },
        );
        worker
    }

    /// A routed call was handled (or could not be sent); `exists` says
    /// whether its worker holds the room afterwards.
    pub fn handled(&self, room: &RoomId, exists: bool) {
        let mut state = self.state();
        if let Some(slot) = state.rooms.get_mut(room) {
            slot.in_flight = slot.in_flight.saturating_sub(1);
        }
        if !exists {
            forget_if_idle(&mut state, room);
        }
    }

    /// The worker closed `room` (its last participant left or timed out).
    pub fn emptied(&self, room: &RoomId) {
        forget_if_idle(&mut self.state(), room);
    }

    /// A worker's rooms now hold this many publisher-subscriber pairs.
    pub fn set_pairs(&self, worker: usize, pairs: usize) {
        if let Some(p) = self.state().pairs.get_mut(worker) {
            *p = pairs;
        }
    }

    #[cfg(test)]
    fn rooms_per_worker(&self) -> Vec<usize> {
        self.state().rooms_per_worker()
    }

    #[cfg(test)]
    fn placed(&self) -> usize {
        self.state().rooms.len()
    }
}

impl State {
    /// Counted when a room is placed, not kept: placing is rare next to
    /// media, and a count kept beside the map could drift from it.
    fn rooms_per_worker(&self) -> Vec<usize> {
        let mut rooms = vec![0; self.pairs.len()];
        for slot in self.rooms.values() {
            rooms[slot.worker] += 1;
        }
        rooms
    }
}

fn forget_if_idle(state: &mut State, room: &RoomId) {
    if state
        .rooms
        .get(room)
        .is_some_and(|slot| slot.in_flight == 0)
    {
        state.rooms.remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(i: usize) -> RoomId {
        RoomId(format!("room-{i}"))
    }

    #[test]
    fn rooms_spread_evenly_over_the_workers() {
        let p = Placement::new(2);
        for i in 0..24 {
            p.route(&room(i));
            p.handled(&room(i), true);
        }
        assert_eq!(p.rooms_per_worker(), vec![12, 12]);
    }

    #[test]
    fn a_new_room_goes_to_the_worker_with_less_forwarding() {
        let p = Placement::new(2);
        assert_eq!(p.route(&room(0)), 0);
        // A room of 16 on worker 0; worker 1 gets the next rooms even
        // though it then holds more of them.
        p.set_pairs(0, 16 * 15);
        for i in 1..=5 {
            assert_eq!(p.route(&room(i)), 1, "room {i}");
            p.set_pairs(1, i * 4 * 3);
        }
    }

    #[test]
    fn calls_about_a_room_stay_on_its_worker() {
        let p = Placement::new(4);
        let w = p.route(&room(7));
        for _ in 0..10 {
            p.route(&room(1_000));
            assert_eq!(p.route(&room(7)), w);
        }
    }

    #[test]
    fn a_room_is_forgotten_once_closed_and_no_call_is_on_its_way() {
        let p = Placement::new(2);
        let w = p.route(&room(1));
        p.handled(&room(1), true);
        // A join is on its way while the worker closes the room: the join
        // must reach the same worker, which opens the room again.
        assert_eq!(p.route(&room(1)), w);
        p.emptied(&room(1));
        assert_eq!(p.placed(), 1, "a call is still in flight");
        p.handled(&room(1), true);
        p.emptied(&room(1));
        assert_eq!((p.placed(), p.rooms_per_worker()), (0, vec![0, 0]));
        // A call about a room its worker does not hold leaves nothing behind.
        p.route(&room(2));
        p.handled(&room(2), false);
        assert_eq!(p.placed(), 0);
    }

    #[test]
    fn concurrent_rooms_leave_nothing_behind() {
        let p = std::sync::Arc::new(Placement::new(2));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        let r = room(t * 10_000 + i);
                        let w = p.route(&r);
                        assert_eq!(p.route(&r), w);
                        p.handled(&r, true);
                        p.emptied(&r);
                        p.handled(&r, false);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!((p.placed(), p.rooms_per_worker()), (0, vec![0, 0]));
    }
}
