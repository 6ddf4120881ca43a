// Package lineage records what salesdag runs as OpenLineage 2-0-2 events
// and delivers them without ever holding up, or failing, the pipeline.
//
// The pieces, from the inside out:
//   - a small typed event model (RunEvent, Run, Job, datasets and facets,
//     with room for custom facets) that marshals to the official schema;
//   - transports (console, HTTP, file, composite, none) and their
//     configuration, resolved like the OpenLineage clients do it;
//   - an Emitter that queues events and sends them in order from background
//     goroutines, retries what may succeed later, and at Close spills what
//     is still undelivered into a durable outbox that Flush re-sends;
//   - a Tracker that turns dag hooks into a root run with one child run per
//     executed node.
package lineage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Producer identifies salesdag as the producer of events and facets.
const Producer = "https://github.com/salesdag/salesdag"

// RunEventSchemaURL is the JSON pointer to the RunEvent definition of the
// OpenLineage version the model follows.
const RunEventSchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

// EventType is the run state transition an event reports.
type EventType string

// The event types of the OpenLineage run cycle.
const (
	EventStart    EventType = "START"
	EventRunning  EventType = "RUNNING"
	EventComplete EventType = "COMPLETE"
	EventFail     EventType = "FAIL"
	EventAbort    EventType = "ABORT"
	EventOther    EventType = "OTHER"
)

// RunEvent is one OpenLineage run event.
type RunEvent struct {
	EventType EventType       `json:"eventType"`
	EventTime time.Time       `json:"eventTime"`
	Run       Run             `json:"run"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs"`
	Outputs   []OutputDataset `json:"outputs"`
	Producer  string          `json:"producer"`
	SchemaURL string          `json:"schemaURL"`
}

// NewRunEvent returns an event with the producer, schema URL and time
// (UTC, now) filled in.
func NewRunEvent(t EventType, run Run, job Job) *RunEvent {
	return &RunEvent{
		EventType: t,
		EventTime: time.Now().UTC(),
		Run:       run,
		Job:       job,
		Producer:  Producer,
		SchemaURL: RunEventSchemaURL,
	}
}

// MarshalJSON writes inputs and outputs as [] rather than null (the schema
// wants arrays) and fills in producer and schemaURL when left empty.
func (e RunEvent) MarshalJSON() ([]byte, error) {
	type plain RunEvent
	p := plain(e)
	if p.Inputs == nil {
		p.Inputs = []InputDataset{}
	}
	if p.Outputs == nil {
		p.Outputs = []OutputDataset{}
	}
	p.Producer = cmp.Or(p.Producer, Producer)
	p.SchemaURL = cmp.Or(p.SchemaURL, RunEventSchemaURL)
	if p.EventTime.IsZero() {
		return nil, fmt.Errorf("lineage: %s event for job %q has no eventTime", p.EventType, p.Job.Name)
	}
	return json.Marshal(p)
}

// Run identifies one run of a job and carries its facets.
type Run struct {
	RunID  uuid.UUID `json:"runId"`
	Facets RunFacets `json:"facets,omitzero"`
}

// Job identifies a job and carries its facets.
type Job struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Facets    JobFacets `json:"facets,omitzero"`
}

// Dataset is the part common to inputs and outputs.
type Dataset struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Facets    DatasetFacets `json:"facets,omitzero"`
}

// InputDataset is a dataset a run read.
type InputDataset struct {
	Dataset
	InputFacets InputDatasetFacets `json:"inputFacets,omitzero"`
}

// OutputDataset is a dataset a run wrote.
type OutputDataset struct {
	Dataset
	OutputFacets OutputDatasetFacets `json:"outputFacets,omitzero"`
}

// NewRunID returns a fresh time-ordered run id (UUIDv7).
func NewRunID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 only fails when the system random source does; a random
		// v4 id still identifies the run.
		return uuid.New()
	}
	return id
}

// Marshal encodes ev as one compact JSON document without a trailing
// newline, escaping nothing beyond what JSON requires.
func Marshal(ev *RunEvent) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("lineage: cannot marshal a nil event")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("lineage: encode %s event for job %q: %w", ev.EventType, ev.Job.Name, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
