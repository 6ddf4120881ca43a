package lineagetest

import (
	"sync"

	"github.com/salesdag/salesdag/internal/lineage"
)

// Recorder is a lineage.Sink for tests that keeps every event encoded as
// lineage.Marshal encodes it, in emission order. With Next set it passes
// each event on under the same lock, so that its record has exactly the
// order in which Next received the events. It is safe for concurrent use.
type Recorder struct {
	Next lineage.Sink

	mu     sync.Mutex
	events [][]byte
}

// Emit records ev (after passing it to Next, when set).
func (r *Recorder) Emit(ev *lineage.RunEvent) error {
	b, err := lineage.Marshal(ev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Next != nil {
		if err := r.Next.Emit(ev); err != nil {
			return err
		}
	}
	r.events = append(r.events, b)
	return nil
}

// Events returns the events recorded so far.
func (r *Recorder) Events() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.events...)
}
