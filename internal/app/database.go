package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// DatabaseOptions sends a run's results to a database as well as to the
// files (--output-db): every table in one transaction, committed only
// once every file is written and before any is renamed into place.
type DatabaseOptions struct {
	URL    string    // postgres://... or sqlite:PATH; "" for none
	Schema string    // PostgreSQL schema (default public)
	Mode   dbio.Mode // replace (default) or append
}

// Input is a run's input: the Source the pipeline reads, and the database
// table or query behind it (none for a file or the sample).
type Input struct {
	Source pipeline.Source
	db     *dbio.Input
	files  []pipeline.InputFile // a multi-file input's files (nil otherwise)
}

// OpenInput opens a file, the embedded sample ("") or a database input
// (a postgres:// or sqlite: URL with ?table= or ?query=), whose rows reach
// the pipeline as the same CSV a file holds. Close it after the run.
func OpenInput(ctx context.Context, raw string) (*Input, error) {
	if !dbio.IsURL(raw) {
		src, err := OpenSource(raw)
		if err != nil {
			return nil, err
		}
		return &Input{Source: src}, nil
	}
	in, err := dbio.OpenInput(ctx, raw)
	if err != nil {
		return nil, err
	}
	// Path stays empty and Stream false: the source can be read again
	// (dbio keeps the rows of the first read for the run), so the cache
	// keys it by a hash of its bytes and a hit is never stale.
	return &Input{Source: pipeline.Source{Name: in.Name(), Open: in.Open}, db: in}, nil
}

// OpenInputs opens the input that --input values name (see
// ResolveInputs): the sample, one database input, one file or several
// files read in order as one input.
func OpenInputs(ctx context.Context, values []string) (*Input, error) {
	in, err := ResolveInputs(values)
	if err != nil {
		return nil, err
	}
	switch {
	case in.URL != "":
		return OpenInput(ctx, in.URL)
	case len(in.Files) == 0:
		return &Input{Source: pipeline.SampleSource()}, nil
	case len(in.Files) == 1:
		return &Input{Source: pipeline.FilesSource(in.Files)}, nil
	}
	return &Input{Source: pipeline.FilesSource(in.Files), files: in.Files}, nil
}

// Close releases what a database input keeps for the run.
func (in *Input) Close() error {
	if in == nil || in.db == nil {
		return nil
	}
	return in.db.Close()
}

// lineageFiles describe the input's datasets for the events: one per
// file of a multi-file input (measured with files' profiles, when given,
// one per file), or one (measured with prof, when given) for a single
// input or more than ManyFiles files.
func (in *Input) lineageFiles(prof *pipeline.InputProfile, files []*pipeline.InputProfile) []lineage.InputFile {
	switch {
	case in.files == nil:
		return []lineage.InputFile{in.lineageFile(prof)}
	case len(in.files) > ManyFiles:
		return []lineage.InputFile{manyFilesDataset(in.files, prof)}
	}
	out := make([]lineage.InputFile, len(in.files))
	for i, f := range in.files {
		var p *pipeline.InputProfile
		if i < len(files) {
			p = files[i]
		}
		out[i] = inputFile(f.Source(), p)
	}
	return out
}

// perFileProfiles reports whether the events measure each file on its
// own (a multi-file input of at most ManyFiles files).
func (in *Input) perFileProfiles() bool {
	return in != nil && in.files != nil && len(in.files) <= ManyFiles
}

// lineageFile describes the input for the events (see inputFile).
func (in *Input) lineageFile(p *pipeline.InputProfile) lineage.InputFile {
	f := inputFile(in.Source, p)
	if in.db != nil {
		ref := dbDatasetRef(in.db.Location())
		f.Path, f.Namespace, f.Name, f.SourceURI = "", ref.Namespace, ref.Name, dbSourceURI(in.db.Location())
		f.Schema = in.db.Schema()
	}
	return f
}

// refs are how the events name the input's datasets.
func (in *Input) refs() ([]DatasetRef, error) {
	if in.db != nil {
		return []DatasetRef{dbDatasetRef(in.db.Location())}, nil
	}
	var out []DatasetRef
	for _, f := range in.lineageFiles(nil, nil) {
		ref, err := InputDatasetRef(pipeline.Source{Path: f.Path})
		if f.Path == "" {
			ref, err = DatasetRef{Namespace: f.Namespace, Name: f.Name}, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// dbDatasetRef names a table as the OpenLineage naming conventions do:
// PostgreSQL namespace postgres://host:port, name database.schema.table;
// a SQLite table as a file: namespace file, name the database file's
// absolute path followed by /table. A query (no table) is named after its
// text: query_ and the first 16 hex digits of its SHA-256.
func dbDatasetRef(l dbio.Location) DatasetRef {
	table := l.Table
	if table == "" {
		sum := sha256.Sum256([]byte(l.Query))
		table = "query_" + hex.EncodeToString(sum[:8])
	}
	if l.Kind == dbio.SQLite {
		return DatasetRef{Namespace: lineage.FileNamespace, Name: filepath.ToSlash(l.Path) + "/" + table}
	}
	name := l.Database + "." + table
	if l.Schema != "" {
		name = l.Database + "." + l.Schema + "." + table
	}
	return DatasetRef{Namespace: "postgres://" + l.Endpoint(), Name: name}
}

// dbSourceURI is the dataSource URI: the server and database (never a
// user or password), or the SQLite file.
func dbSourceURI(l dbio.Location) string {
	if l.Kind == dbio.SQLite {
		return lineage.FileURI(l.Path)
	}
	return "postgres://" + l.Endpoint() + "/" + l.Database
}

// dbOutputDatasets are the output datasets of the tables written: schema
// in database types, dataSource and outputStatistics (rows).
func dbOutputDatasets(ws []dbio.Written) []lineage.OutputDataset {
	var out []lineage.OutputDataset
	for _, w := range ws {
		ref := dbDatasetRef(w.Location)
		ds := lineage.OutputDataset{Dataset: lineage.Dataset{Namespace: ref.Namespace, Name: ref.Name}}
		ds.Facets.DataSource = lineage.NewDatasourceDatasetFacet(ref.Namespace, dbSourceURI(w.Location))
		ds.Facets.Schema = lineage.SchemaFacet(w.Schema)
		st := lineage.NewOutputStatisticsFacet(w.Rows, 0)
		st.Size, st.FileCount = nil, nil // a table has neither
		ds.OutputFacets.OutputStatistics = st
		out = append(out, ds)
	}
	return out
}

// openOutputDB connects to the output database before any work, so an
// unreachable database or a wrong password fails the run at once.
func openOutputDB(ctx context.Context, o DatabaseOptions, runID string, runTime time.Time) (*dbio.Output, error) {
	if o.URL == "" {
		return nil, nil
	}
	return dbio.OpenOutput(ctx, o.URL, dbio.OutputOptions{Schema: o.Schema, Mode: o.Mode, RunID: runID, RunTime: runTime})
}

// dbCommit is the commit step of output.WriteSetCommit: the tables of the
// run in one transaction (nil when there is no database).
func dbCommit(db *dbio.Output, results map[string]any, names []string, written *[]dbio.Written) func(context.Context) error {
	if db == nil {
		return nil
	}
	return func(ctx context.Context) error {
		tables, err := dbio.Tables(results, names)
		if err != nil {
			return fmt.Errorf("database %s: %w", db.Name(), err)
		}
		ws, err := db.Write(ctx, tables)
		if err != nil {
			return err
		}
		*written = ws
		return nil
	}
}
