package lineage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Transport delivers one encoded event (compact JSON, no newline).
// Implementations are safe for concurrent use. String describes the
// transport for messages and never contains secrets.
type Transport interface {
	Send(ctx context.Context, event []byte) error
	Close() error
	String() string
}

// DeliveryError is a failed delivery, classified for the retry logic.
type DeliveryError struct {
	Transport  string        // the transport's String()
	Status     int           // HTTP status, 0 when none
	Retryable  bool          // a later attempt may succeed
	RetryAfter time.Duration // server-requested wait, 0 when none
	Detail     string        // first line of the response body, or the cause
	Err        error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString(e.Transport)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// retryable says whether err may go away on a later attempt. Errors that
// are not DeliveryErrors are unknown and so worth another try.
func retryable(err error) bool {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Retryable
	}
	return true
}

func retryAfter(err error) time.Duration {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}

// ---- console ----

// ConsoleTransport writes each event as one line of compact JSON.
type ConsoleTransport struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsoleTransport writes to w, which should be a stream of its own,
// never mixed with human-readable text.
func NewConsoleTransport(w io.Writer) *ConsoleTransport { return &ConsoleTransport{w: w} }

// Send writes the event and a newline in one write, so that concurrent
// events never interleave.
func (c *ConsoleTransport) Send(_ context.Context, event []byte) error {
	line := make([]byte, 0, len(event)+1)
	line = append(append(line, event...), '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.w.Write(line); err != nil {
		// A closed stream stays closed: retrying only repeats the error.
		return &DeliveryError{Transport: c.String(), Err: err}
	}
	return nil
}

func (c *ConsoleTransport) Close() error   { return nil }
func (c *ConsoleTransport) String() string { return "console" }

// ---- file ----

// FileTransport writes events as JSON lines. With append, every event is a
// line of one file, created with its parent directories as needed;
// without, as the Python client does it, every event is a file of its own
// named path-YYYYMMDD-HHMMSS.ffffff.json.
type FileTransport struct {
	path   string
	append bool

	mu   sync.Mutex
	f    *os.File
	last string // the previous event's file, when not appending
}

// NewFileTransport writes to path (see FileTransport).
func NewFileTransport(path string, appendTo bool) *FileTransport {
	return &FileTransport{path: path, append: appendTo}
}

func (t *FileTransport) open() error {
	if t.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(t.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	t.f = f
	return nil
}

// Send appends the event (or writes its own file) and syncs it to disk.
func (t *FileTransport) Send(_ context.Context, event []byte) error {
	line := make([]byte, 0, len(event)+1)
	line = append(append(line, event...), '\n')
	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	if t.append {
		if err = t.open(); err == nil {
			if _, err = t.f.Write(line); err == nil {
				err = t.f.Sync()
			}
		}
	} else {
		err = t.writeOwnFile(line)
	}
	if err != nil {
		return &DeliveryError{Transport: t.String(), Retryable: true, Err: err}
	}
	return nil
}

// writeOwnFile writes one event to a new file whose name sorts after the
// previous one's, even when the clock has not moved on.
func (t *FileTransport) writeOwnFile(line []byte) error {
	if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
		return err
	}
	now := time.Now()
	for {
		name := t.path + "-" + now.Format("20060102-150405.000000") + ".json"
		if name > t.last {
			f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				_, err = f.Write(line)
				if err == nil {
					err = f.Sync()
				}
				err = cmp.Or(err, f.Close())
				t.last = name
				return err
			}
			if !errors.Is(err, os.ErrExist) {
				return err
			}
		}
		now = now.Add(time.Microsecond)
	}
}

// Close closes the file.
func (t *FileTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func (t *FileTransport) String() string { return "file(" + t.path + ")" }

// ---- none ----

// NoneTransport drops every event: lineage is off.
type NoneTransport struct{}

func (NoneTransport) Send(context.Context, []byte) error { return nil }
func (NoneTransport) Close() error                       { return nil }
func (NoneTransport) String() string                     { return "none" }

// ---- held ----

// HeldTransport stands for a configured transport that salesdag cannot
// use (a type or an auth it does not ship, a missing setting). It refuses
// every event for good, so the events go to the outbox, where `salesdag
// lineage flush` finds them once the configuration is fixed.
type HeldTransport struct {
	Kind   string // the configured type
	Reason string
}

func (h *HeldTransport) Send(context.Context, []byte) error {
	return &DeliveryError{Transport: h.String(), Detail: h.Reason + "; fix the lineage configuration, then `salesdag lineage flush`"}
}
func (h *HeldTransport) Close() error   { return nil }
func (h *HeldTransport) String() string { return h.Kind }

// ---- composite ----

// CompositeTransport sends every event to each of its members. The Emitter
// gives each member its own queue (so a slow HTTP backend never delays the
// console, and a retry never prints an event twice); sent directly, as
// Flush does, an event counts as delivered only when every member took it.
type CompositeTransport struct {
	members []Transport
}

// NewCompositeTransport combines members (nested composites are
// flattened).
func NewCompositeTransport(members ...Transport) *CompositeTransport {
	c := &CompositeTransport{}
	for _, m := range members {
		if cc, ok := m.(*CompositeTransport); ok {
			c.members = append(c.members, cc.members...)
		} else if m != nil {
			c.members = append(c.members, m)
		}
	}
	return c
}

// Members returns the member transports.
func (c *CompositeTransport) Members() []Transport { return append([]Transport(nil), c.members...) }

// Send delivers to every member and joins their errors; the joined error
// is retryable only if every failure is.
func (c *CompositeTransport) Send(ctx context.Context, event []byte) error {
	var errs []error
	retry := true
	var wait time.Duration
	for _, m := range c.members {
		if err := m.Send(ctx, event); err != nil {
			errs = append(errs, err)
			retry = retry && retryable(err)
			wait = max(wait, retryAfter(err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &DeliveryError{Transport: c.String(), Retryable: retry, RetryAfter: wait, Err: errors.Join(errs...)}
}

// Close closes every member.
func (c *CompositeTransport) Close() error { return closeAll(c.members) }

func (c *CompositeTransport) String() string { return compositeName(c.members, ", ") }

func closeAll(members []Transport) error {
	var errs []error
	for _, m := range members {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// compositeName is "composite(a<sep>b)" for members a and b.
func compositeName(members []Transport, sep string) string {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.String()
	}
	return "composite(" + strings.Join(names, sep) + ")"
}

// SequentialTransport is a composite with continue_on_failure or
// continue_on_success false: each event goes to the members in order, and
// the first failure (continue_on_failure false) or the first success
// (continue_on_success false) ends it, as in the Python client. An event
// that fails is, when retried, sent on from the member that failed, so no
// member gets it twice.
type SequentialTransport struct {
	members              []Transport
	onFailure, onSuccess bool

	mu   sync.Mutex
	last []byte // the event of the previous, failed Send
	next int    // the member to resume last with
}

// NewSequentialTransport combines members in order.
func NewSequentialTransport(members []Transport, continueOnFailure, continueOnSuccess bool) *SequentialTransport {
	return &SequentialTransport{members: members, onFailure: continueOnFailure, onSuccess: continueOnSuccess}
}

// Send delivers event as described on SequentialTransport. It fails when
// no member took the event or when a member failed and
// continue_on_failure is false.
func (s *SequentialTransport) Send(ctx context.Context, event []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start, delivered := 0, false
	if bytes.Equal(event, s.last) {
		start, delivered = s.next, s.next > 0
	}
	s.last = nil
	var errs []error
	retry := true
	for i := start; i < len(s.members); i++ {
		err := s.members[i].Send(ctx, event)
		if err == nil {
			delivered = true
			if !s.onSuccess {
				return nil
			}
			continue
		}
		errs = append(errs, err)
		retry = retry && retryable(err)
		if !s.onFailure {
			s.last, s.next = bytes.Clone(event), i
			return &DeliveryError{Transport: s.String(), Retryable: retry, RetryAfter: retryAfter(err), Err: err}
		}
	}
	if delivered || len(errs) == 0 {
		return nil
	}
	return &DeliveryError{Transport: s.String(), Retryable: retry, Err: errors.Join(errs...)}
}

// Close closes every member.
func (s *SequentialTransport) Close() error { return closeAll(s.members) }

func (s *SequentialTransport) String() string { return compositeName(s.members, " then ") }

// leaves flattens t into the transports that each get their own queue.
func leaves(t Transport) []Transport {
	if c, ok := t.(*CompositeTransport); ok {
		if len(c.members) == 0 {
			return []Transport{NoneTransport{}}
		}
		return c.Members()
	}
	return []Transport{t}
}
