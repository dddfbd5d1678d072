#pragma once
// The metrics' ids in results rows and their names in results.csv
// (kAttnRecall, ..., kFirstSummary, metric_name): one table, in
// analysis/metric_table.hpp, that the plots read too.
#include "analysis/metric_table.hpp"
