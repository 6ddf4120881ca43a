package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// Engine computes raw_sales_data somewhere else than in this process's
// reader. The Beam engine (module beam/, binary salesdag-beam) is one: it
// runs the row work of step 1 as a Beam job and hands back the reduced
// rows (pipeline.FromAggregates). The raw_sales_data node still runs (its
// function is replaced through an Around hook, as a cache hit is served),
// so the plan, the later nodes, checks, writers and events are those of
// the native engine.
type Engine interface {
	// Info names the engine for the processing_engine facet.
	Info() EngineInfo
	// ReadSales computes raw_sales_data. The job it ran (if any got as
	// far as an id) is returned with errors too.
	ReadSales(ctx context.Context, src pipeline.Source, opts pipeline.Options) (*pipeline.RawSales, EngineJob, error)
}

// EngineInfo describes an engine: Name "Apache Beam", Version its SDK's
// version, Runner where its jobs run ("prism", "flink", ...).
type EngineInfo struct {
	Name, Version, Runner string
}

// EngineJob is one job an engine ran.
type EngineJob struct {
	ID string // the runner's job id; "" when the job was never submitted
}

// EngineFacetKey is the custom run facet that names the engine's runner
// and job (on the root run and on raw_sales_data's node run).
const EngineFacetKey = "salesdag_engine"

// EngineRunFacet is the salesdag_engine run facet.
type EngineRunFacet struct {
	lineage.BaseFacet
	Engine     string `json:"engine"`
	SDKVersion string `json:"sdkVersion"`
	Runner     string `json:"runner"`
	JobID      string `json:"jobId,omitempty"`
}

// engineRun connects an engine to one run: the hook that runs it in place
// of the native reader, and the facets that say so.
type engineRun struct {
	eng     Engine
	info    EngineInfo
	version string // salesdag's

	mu  sync.Mutex
	job EngineJob
}

func newEngineRun(e Engine, version string) *engineRun {
	if e == nil {
		return nil
	}
	return &engineRun{eng: e, info: e.Info(), version: version}
}

// hooks replaces raw_sales_data's function by the engine.
func (er *engineRun) hooks() dag.Hooks {
	return dag.Hooks{Around: func(ctx context.Context, n *dag.Node, inputs []any, next dag.Compute) (any, error) {
		if n.Name != pipeline.NodeRaw {
			return next(ctx)
		}
		src, ok1 := inputs[0].(pipeline.Source)
		opts, ok2 := inputs[1].(pipeline.Options)
		if !ok1 || !ok2 {
			return nil, errors.New("engine: raw_sales_data's inputs are not a source and reader options")
		}
		raw, job, err := er.eng.ReadSales(ctx, src, opts)
		er.mu.Lock()
		er.job = job
		er.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if raw == nil {
			return nil, fmt.Errorf("engine %s returned no result", er.info.Name)
		}
		return raw, nil
	}}
}

// facets sets processing_engine to the engine and adds salesdag_engine.
func (er *engineRun) facets(run *lineage.Run) {
	pe := lineage.NewProcessingEngineRunFacet(er.version)
	pe.Name = fmt.Sprintf("%s (%s runner)", er.info.Name, er.info.Runner)
	pe.Version = er.info.Version
	run.Facets.ProcessingEngine = pe
	er.mu.Lock()
	job := er.job
	er.mu.Unlock()
	run.Facets.SetCustom(EngineFacetKey, &EngineRunFacet{
		BaseFacet:  lineage.NewBaseFacet(lineage.CustomFacetSchemaURL("SalesdagEngineRunFacet")),
		Engine:     er.info.Name,
		SDKVersion: er.info.Version,
		Runner:     er.info.Runner,
		JobID:      job.ID,
	})
}
