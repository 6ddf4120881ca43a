package lineage

import "github.com/google/uuid"

// Accessors that only the tests (package lineage_test) use.

func (o Outcome) String() string { return string(o.EventType()) }

// Root identifies the root run.
func (t *Tracker) Root() RunRef { return t.root }

// NodeRunID returns the run id of node's child run, if it started.
func (t *Tracker) NodeRunID(node string) (uuid.UUID, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.nodeRuns[node]
	return id, ok
}
