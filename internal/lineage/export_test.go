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

// Transport returns the emitter's transport.
func (e *Emitter) Transport() Transport { return e.opts.Transport }

// OutboxPath is the file that holds the undelivered events ("" without
// an outbox). It is OutboxName's file, or a variant of it when that name
// was taken by an earlier emitter.
func (e *Emitter) OutboxPath() string {
	if e.opts.OutboxDir == "" {
		return ""
	}
	e.spillMu.Lock()
	defer e.spillMu.Unlock()
	if e.spill.path != "" {
		return e.spill.path
	}
	return outboxFile(e.opts.OutboxDir, e.opts.OutboxName)
}

// SetCustom adds a custom job facet under key.
func (f *JobFacets) SetCustom(key string, facet any) { f.Custom = setCustom(f.Custom, key, facet) }

// SetCustom adds a custom dataset facet under key.
func (f *DatasetFacets) SetCustom(key string, facet any) { f.Custom = setCustom(f.Custom, key, facet) }

// SetCustom adds a custom input facet under key.
func (f *InputDatasetFacets) SetCustom(key string, facet any) {
	f.Custom = setCustom(f.Custom, key, facet)
}

// SetCustom adds a custom output facet under key.
func (f *OutputDatasetFacets) SetCustom(key string, facet any) {
	f.Custom = setCustom(f.Custom, key, facet)
}

// Terminal reports whether t ends a run.
func (t EventType) Terminal() bool {
	return t == EventComplete || t == EventFail || t == EventAbort
}
