package dbio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/output"
)

// Mode says what writing a table does to the rows already there.
type Mode string

const (
	// Replace: the table holds this run's result only (the default).
	Replace Mode = "replace"
	// Append: this run's rows are added, each with run_id and run_time.
	Append Mode = "append"
)

// ParseMode reads "replace" or "append" ("" is replace).
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToLower(strings.TrimSpace(s))) {
	case "", Replace:
		return Replace, nil
	case Append:
		return Append, nil
	}
	return "", fmt.Errorf("unknown database mode %q: use replace or append", s)
}

// OutputOptions configures an output database.
type OutputOptions struct {
	// Schema is the PostgreSQL schema of the tables (default public;
	// created if missing). SQLite has none: it must be empty.
	Schema string
	Mode   Mode
	// RunID and RunTime fill the run_id and run_time columns (append).
	RunID   string
	RunTime time.Time
}

// Table is one table to write: a node's result as a frame.
type Table struct {
	Name  string
	Frame *frame.Frame
}

// Written describes one table written.
type Written struct {
	Table    string
	Location Location
	Rows     int64
	// Schema lists the table's columns with their database types.
	Schema []frame.Field
}

// Output is a database that receives a run's tables.
type Output struct {
	t    *target
	mode Mode
	run  OutputOptions
	pg   *pgOutput
	lite *sqliteOutput

	// afterTable, when set (tests), runs after each table is loaded,
	// inside the transaction.
	afterTable func(table string)
}

// OpenOutput parses an output URL and checks, before any work, that the
// database can be reached (PostgreSQL: a connection is opened and kept
// for Write; SQLite: the file is a database, or can be created).
func OpenOutput(ctx context.Context, raw string, o OutputOptions) (*Output, error) {
	t, err := parse(raw, false)
	if err != nil {
		return nil, err
	}
	mode, err := ParseMode(string(o.Mode))
	if err != nil {
		return nil, err
	}
	out := &Output{t: t, mode: mode, run: o}
	switch t.kind {
	case Postgres:
		schema := cmp.Or(o.Schema, "public")
		if strings.ContainsRune(schema, 0) {
			return nil, fmt.Errorf("--db-schema %q is not a schema name", schema)
		}
		conn, err := t.connectPG(ctx)
		if err != nil {
			return nil, err
		}
		out.pg = &pgOutput{t: t, schema: schema, conn: conn}
	case SQLite:
		if o.Schema != "" {
			return nil, fmt.Errorf("--db-schema is for PostgreSQL; a SQLite database (%s) has no schemas", t.display)
		}
		lite, err := openSQLiteOutput(ctx, t)
		if err != nil {
			return nil, err
		}
		out.lite = lite
	}
	return out, nil
}

// Name is the URL with the password masked.
func (o *Output) Name() string { return o.t.display }

// Write writes every table in one transaction: all of them, or (on an
// error or a cancelled ctx) none, leaving the tables as they were.
func (o *Output) Write(ctx context.Context, tables []Table) ([]Written, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("database %s: nothing written: %w", o.t.display, err)
	}
	seen := map[string]bool{}
	for _, tb := range tables {
		if err := checkTableName(tb.Name); err != nil {
			return nil, o.t.errorf("%v", err)
		}
		if seen[tb.Name] {
			return nil, o.t.errorf("table %s given twice", tb.Name)
		}
		seen[tb.Name] = true
		if tb.Frame == nil {
			return nil, o.t.errorf("table %s has no rows to write (nil)", tb.Name)
		}
		if err := tb.Frame.Validate(); err != nil {
			return nil, o.t.errorf("table %s: %v", tb.Name, err)
		}
	}
	var out []Written
	var err error
	if o.pg != nil {
		out, err = o.pg.write(ctx, o, tables)
	} else {
		out, err = o.lite.write(ctx, o, tables)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return out, err
}

// Close releases the connection.
func (o *Output) Close() error {
	if o.pg != nil {
		o.pg.close()
	}
	if o.lite != nil {
		return o.lite.close()
	}
	return nil
}

// runColumns are the values of run_id and run_time (append mode).
func (o *Output) runColumns() []any {
	if o.mode != Append {
		return nil
	}
	if o.lite != nil {
		return []any{o.run.RunID, o.run.RunTime.UTC().Format(time.RFC3339Nano)}
	}
	return []any{o.run.RunID, o.run.RunTime.UTC()}
}

// columns lists a table's columns with their database types (typeOf maps
// a kind), after run_id and run_time in append mode.
func (o *Output) columns(f *frame.Frame, typeOf func(frame.Kind) string) []frame.Field {
	var out []frame.Field
	if o.mode == Append {
		ts := "timestamp with time zone"
		if o.lite != nil {
			ts = "TIMESTAMP"
		}
		out = append(out, frame.Field{Name: "run_id", Type: typeOf(frame.KindString)}, frame.Field{Name: "run_time", Type: ts})
	}
	for _, c := range f.Columns {
		out = append(out, frame.Field{Name: c.Name, Type: typeOf(c.Kind)})
	}
	return out
}

func columnDDL(cols []frame.Field, quote func(string) string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quote(c.Name) + " " + strings.ToUpper(c.Type)
	}
	return strings.Join(parts, ", ")
}

func sameColumns(a, b []frame.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !strings.EqualFold(a[i].Type, b[i].Type) {
			return false
		}
	}
	return true
}

func describe(cols []frame.Field) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

// checkTableName accepts the names salesdag gives tables (node names).
func checkTableName(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("table name %q: must be 1 to 63 characters", s)
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("table name %q: only letters, digits and _ are used", s)
		}
	}
	return nil
}

// Tables turns the results of nodes into tables, in the order of names
// (repeated names once): tables as they are, objects and lists of records
// as output.TableOf makes them.
func Tables(results map[string]any, names []string) ([]Table, error) {
	var out []Table
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		v, ok := results[name]
		if !ok {
			return nil, fmt.Errorf("no result for %s to write to the database", name)
		}
		f, err := output.TableOf(v)
		if err != nil {
			return nil, fmt.Errorf("%s cannot be written to the database: %w", name, err)
		}
		out = append(out, Table{Name: name, Frame: f})
	}
	return out, nil
}
