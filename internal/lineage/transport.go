package lineage

import (
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

// FileTransport appends events as JSON lines to a file, creating it and
// its parent directories as needed.
type FileTransport struct {
	path   string
	append bool

	mu sync.Mutex
	f  *os.File
}

// NewFileTransport writes to path. With appendTo false the file is
// truncated when the first event of this process arrives; either way each
// event is one line appended.
func NewFileTransport(path string, appendTo bool) *FileTransport {
	return &FileTransport{path: path, append: appendTo}
}

func (t *FileTransport) open() error {
	if t.f != nil {
		return nil
	}
	if dir := filepath.Dir(t.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if !t.append {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(t.path, flags, 0o644)
	if err != nil {
		return err
	}
	t.f = f
	t.append = true // truncate once, then append
	return nil
}

// Send appends the event and syncs it to disk.
func (t *FileTransport) Send(_ context.Context, event []byte) error {
	line := make([]byte, 0, len(event)+1)
	line = append(append(line, event...), '\n')
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.open(); err != nil {
		return &DeliveryError{Transport: t.String(), Retryable: true, Err: err}
	}
	if _, err := t.f.Write(line); err != nil {
		return &DeliveryError{Transport: t.String(), Retryable: true, Err: err}
	}
	if err := t.f.Sync(); err != nil {
		return &DeliveryError{Transport: t.String(), Retryable: true, Err: err}
	}
	return nil
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
func (c *CompositeTransport) Close() error {
	var errs []error
	for _, m := range c.members {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *CompositeTransport) String() string {
	names := make([]string, len(c.members))
	for i, m := range c.members {
		names[i] = m.String()
	}
	return "composite(" + strings.Join(names, ", ") + ")"
}

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
