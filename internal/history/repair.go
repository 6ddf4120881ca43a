package history

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/lineage"
)

// readEvent decodes one stored event.
func readEvent(v []byte) (*lineage.RunEvent, error) {
	data, err := decompressEvent(v)
	if err != nil {
		return nil, err
	}
	var ev lineage.RunEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("history: event is not an OpenLineage run event: %w", err)
	}
	return &ev, nil
}

// rebuildRun re-derives the summary of run id from its readable events,
// as the writer built it; nil if none is readable.
func rebuildRun(id uuid.UUID, events *bolt.Bucket) *Run {
	if events == nil {
		return nil
	}
	r := &Run{ID: id.String()}
	next := 0
	c := events.Cursor()
	for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
		if len(k) != 24 {
			continue
		}
		ev, err := readEvent(v)
		if err != nil {
			continue
		}
		r.apply(ev)
		next = int(binary.BigEndian.Uint64(k[16:])) + 1
	}
	if r.Events == 0 {
		return nil
	}
	// New events of the run (if its process is still recording) go after
	// the last stored one.
	r.Events = max(r.Events, next)
	if !r.Status.Terminal() {
		r.Status = StatusIncomplete // the process that recorded it is unknown
	}
	return r
}

// rebuildRun is rebuildRun for a query, never nil.
func (s *Store) rebuildRun(id uuid.UUID, events *bolt.Bucket) *Run {
	if r := rebuildRun(id, events); r != nil {
		return r
	}
	return &Run{ID: id.String(), Status: StatusIncomplete}
}

// Dropped is one record Repair removed.
type Dropped struct {
	Kind   string `json:"kind"` // "event", "run summary", "index entry", "record"
	Run    string `json:"run,omitempty"`
	Seq    *int   `json:"seq,omitempty"` // of an event
	Reason string `json:"reason"`
}

// RepairReport says what Repair did.
type RepairReport struct {
	Path string `json:"path"`
	// MovedTo is set when the store as a whole was damaged: it was moved
	// there and the next run starts a new one.
	MovedTo string `json:"moved_to,omitempty"`
	Damage  string `json:"damage,omitempty"` // why, then
	Runs    int    `json:"runs"`             // runs kept
	Events  int    `json:"events"`           // events kept
	// Rebuilt are runs whose summary was unreadable and was re-derived
	// from their events.
	Rebuilt []string  `json:"rebuilt"`
	Dropped []Dropped `json:"dropped"`
}

// Repair checks every record of the store at path and drops what cannot be read: events that do not decode, summaries
// of runs without a readable event, index entries of no run. A summary
// that does not decode is re-derived from the run's events. A store that
// is damaged as a whole is moved aside (see guard.go). It waits for
// writers as long as ctx allows.
func Repair(ctx context.Context, path string) (*RepairReport, error) {
	rep := &RepairReport{Path: path, Rebuilt: []string{}, Dropped: []Dropped{}}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("history: %w in %s", ErrNoHistory, path)
	}
	unlock := lockPath(path)
	defer unlock()
	unlockFile, err := lockFile(ctx, path)
	if err != nil {
		return nil, err
	}
	defer unlockFile()
	db, seen, err := openWriteChecked(path, 5*time.Second, true)
	var ce *CorruptError
	if errors.As(err, &ce) {
		to, merr := moveAside(path, seen)
		if merr != nil {
			return nil, fmt.Errorf("%w; %w", err, merr)
		}
		rep.MovedTo, rep.Damage = to, errLine(ce.Err)
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	werr := guard(func() error {
		return db.Update(func(tx *bolt.Tx) error { return repairTx(tx, rep) })
	})
	werr = cmp.Or(werr, guard(db.Close))
	if werr != nil {
		return nil, fmt.Errorf("history: repair %s: %w", path, werr)
	}
	return rep, nil
}

func repairTx(tx *bolt.Tx, rep *RepairReport) error {
	if err := initBuckets(tx); err != nil {
		return err
	}
	runs, events, index := tx.Bucket(bucketRuns), tx.Bucket(bucketEvents), tx.Bucket(bucketByStart)
	var del [][]byte
	drop := func(k []byte, d Dropped) {
		del = append(del, bytes.Clone(k))
		rep.Dropped = append(rep.Dropped, d)
	}
	flush := func(b *bolt.Bucket) error {
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		del = nil
		return nil
	}

	// Events first: a run is what its readable events say.
	withEvents := map[uuid.UUID]bool{}
	c := events.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 24 {
			drop(k, Dropped{Kind: "record", Reason: fmt.Sprintf("event key of %d bytes", len(k))})
			continue
		}
		id := uuid.UUID(k[:16])
		if _, err := readEvent(v); err != nil {
			seq := int(binary.BigEndian.Uint64(k[16:]))
			drop(k, Dropped{Kind: "event", Run: id.String(), Seq: &seq, Reason: errLine(err)})
			continue
		}
		withEvents[id] = true
		rep.Events++
	}
	if err := flush(events); err != nil {
		return err
	}

	// Summaries: keep the readable ones, re-derive the others (and those
	// of runs that have events but lost their summary).
	kept := map[uuid.UUID]*Run{}
	var rebuilt []uuid.UUID
	c = runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 16 {
			drop(k, Dropped{Kind: "record", Reason: fmt.Sprintf("run key of %d bytes", len(k))})
			continue
		}
		id := uuid.UUID(k)
		r, err := decodeRun(v)
		switch {
		case err == nil:
			kept[id] = r
		case withEvents[id]:
			rebuilt = append(rebuilt, id)
		default:
			drop(k, Dropped{Kind: "run summary", Run: id.String(), Reason: errLine(err) + "; no readable event to re-derive it from"})
		}
	}
	if err := flush(runs); err != nil {
		return err
	}
	for id := range withEvents {
		if _, ok := kept[id]; !ok && runs.Get(id[:]) == nil {
			rebuilt = append(rebuilt, id)
		}
	}
	for _, id := range rebuilt {
		r := rebuildRun(id, events)
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := runs.Put(id[:], b); err != nil {
			return err
		}
		kept[id] = r
		rep.Rebuilt = append(rep.Rebuilt, id.String())
	}
	rep.Runs = len(kept)

	// The index: one entry per kept run, at its start.
	indexed := map[uuid.UUID]bool{}
	c = index.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 24 {
			drop(k, Dropped{Kind: "index entry", Reason: fmt.Sprintf("key of %d bytes", len(k))})
			continue
		}
		id := uuid.UUID(k[8:])
		r, ok := kept[id]
		switch {
		case !ok:
			drop(k, Dropped{Kind: "index entry", Run: id.String(), Reason: "no such run"})
		case !bytes.Equal(k, startKey(r.Start, id)) || string(v) != string(r.Status) || indexed[id]:
			// Stale (a re-derived summary) or a duplicate: re-indexed
			// below. Not reported: nothing is lost.
			del = append(del, bytes.Clone(k))
		default:
			indexed[id] = true
		}
	}
	if err := flush(index); err != nil {
		return err
	}
	for id, r := range kept {
		if !indexed[id] {
			if err := index.Put(startKey(r.Start, id), []byte(r.Status)); err != nil {
				return err
			}
		}
	}
	return nil
}
