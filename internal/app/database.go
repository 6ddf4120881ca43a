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

// Close releases what a database input keeps for the run.
func (in *Input) Close() error {
	if in == nil || in.db == nil {
		return nil
	}
	return in.db.Close()
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

// ref is how the events name the input.
func (in *Input) ref() (DatasetRef, error) {
	if in.db != nil {
		return dbDatasetRef(in.db.Location()), nil
	}
	return InputDatasetRef(in.Source)
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
		ns := ref.Namespace
		ds.Facets.DataSource = lineage.NewDatasourceDatasetFacet(ns, dbSourceURI(w.Location))
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
	db, err := dbio.OpenOutput(ctx, o.URL, dbio.OutputOptions{Schema: o.Schema, Mode: o.Mode, RunID: runID, RunTime: runTime})
	if err != nil {
		return nil, err
	}
	return db, nil
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
