package lineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/salesdag/salesdag/internal/fsutil"
)

// A damaged outbox file never stops a flush: lines that are not
// OpenLineage events (a torn append, garbage from a crash or a bad disk)
// are moved to <file>.corrupt, and a file that cannot be read at all is
// moved to <file>.unreadable-<time>; both are kept for the user, never
// deleted, and reported, and the rest of the outbox is flushed.

// SetAside is one damaged outbox file and what Flush did about it.
type SetAside struct {
	File  string `json:"file"`
	To    string `json:"to"`
	Lines int    `json:"lines,omitempty"` // unreadable lines moved; 0: the whole file
	Err   string `json:"error,omitempty"` // why the whole file was moved
}

// String is the warning for the user.
func (s SetAside) String() string {
	switch {
	case s.Lines == 0 && s.To == "":
		return fmt.Sprintf("outbox file %s cannot be read (%s); left in place", s.File, s.Err)
	case s.Lines == 0:
		return fmt.Sprintf("outbox file %s cannot be read (%s); moved it to %s", s.File, s.Err, s.To)
	}
	return fmt.Sprintf("outbox file %s: %d line(s) that are not OpenLineage events moved to %s", s.File, s.Lines, s.To)
}

// isEvent reports whether an outbox line can be sent: a JSON object with
// the fields every OpenLineage run event has. Anything else would be
// refused by every backend and block the outbox for good.
func isEvent(line []byte) bool {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' || !json.Valid(line) {
		return false
	}
	var ev struct {
		EventTime json.RawMessage `json:"eventTime"`
		Run       json.RawMessage `json:"run"`
		Job       json.RawMessage `json:"job"`
	}
	if json.Unmarshal(line, &ev) != nil {
		return false
	}
	return isObject(ev.Run) && isObject(ev.Job) && len(ev.EventTime) > 2 && ev.EventTime[0] == '"'
}

func isObject(b json.RawMessage) bool { return len(b) > 0 && b[0] == '{' }

// readFileError is an outbox file that could not be read.
type readFileError struct{ err error }

func (e *readFileError) Error() string { return e.err.Error() }
func (e *readFileError) Unwrap() error { return e.err }

// readOutboxFile reads an outbox file (tests replace it to simulate an
// I/O error).
var readOutboxFile = os.ReadFile

// setAsideFile moves an outbox file that cannot be read out of the way.
func setAsideFile(path string, readErr error) SetAside {
	s := SetAside{File: path, Err: oneLine(readErr.Error())}
	to := fsutil.FreeName(path + ".unreadable-" + time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, to); err != nil {
		s.Err += "; moving it aside failed: " + oneLine(err.Error())
		return s
	}
	s.To = to
	return s
}
