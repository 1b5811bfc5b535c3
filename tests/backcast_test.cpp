// Backcast (DESIGN §6b): the base scenario over 2023-2025 against Epoch AI's estimates, copied
// into inputs/history/ with their licence so that a fresh clone runs this test.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gpumm/scenario.hpp"
#include "gpumm/simulate.hpp"

using namespace gpumm;

namespace {

// RFC 4180 rows: fields may be quoted and hold commas.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> f(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') f.back() += '"', ++i;
        else if (c == '"') quoted = false;
        else f.back() += c;
      } else if (c == '"') quoted = true;
      else if (c == ',') f.emplace_back();
      else f.back() += c;
    }
    rows.push_back(f);
  }
  std::vector<std::map<std::string, std::string>> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> m;
    for (size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) m[rows[0][c]] = rows[r][c];
    out.push_back(m);
  }
  return out;
}

// "4/1/2024" -> quarter index from 2022Q1 (0) on
int quarter_of(const std::string& mdy) {
  const int m = std::stoi(mdy.substr(0, mdy.find('/')));
  const int y = std::stoi(mdy.substr(mdy.rfind('/') + 1));
  return (y - 2022) * 4 + (m - 1) / 3;
}

double num(const std::string& s) { return s.empty() ? 0.0 : std::stod(s); }

struct Band {
  double p5 = 0, median = 0, p95 = 0;
};

const std::string kHistory = std::string(GPUMM_SOURCE_DIR) + "/inputs/history/";

}  // namespace

TEST_CASE("backcast: installed H100e of the five hyperscalers, per quarter 2023-2025, within Epoch's band") {
  // Epoch: H100e shipped to each owner per quarter, cumulated from 2022 (the data's start; the
  // base scenario's fleet at the start is the owners' 2022 shipments). The band sums the
  // rows' 5th and 95th percentiles, which is wider than the band of the sum.
  const std::map<std::string, std::string> owner = {{"Microsoft", "microsoft"}, {"Google", "google"},
                                                    {"Amazon", "amazon"}, {"Meta", "meta"}, {"Oracle", "oracle"}};
  std::map<std::string, std::vector<Band>> shipped;  // firm -> per quarter from 2022Q1
  for (const char* file : {"nvidia_owners_quarters_by_chip.csv", "tpu_owners_quarters_by_chip.csv",
                           "amd_owners_quarters_by_chip.csv", "trainium_owners_quarters_by_chip.csv"}) {
    for (auto& row : read_csv(kHistory + file)) {
      auto it = owner.find(row["Owner"]);
      if (it == owner.end()) continue;
      const int q = quarter_of(row["Start date"]);
      auto& v = shipped[it->second];
      if (static_cast<int>(v.size()) <= q) v.resize(static_cast<size_t>(q + 1));
      v[static_cast<size_t>(q)].median += num(row["Compute estimate in H100e (median)"]);
      v[static_cast<size_t>(q)].p5 += num(row["H100e (5th percentile)"]);
      v[static_cast<size_t>(q)].p95 += num(row["H100e (95th percentile)"]);
    }
  }
  Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  s.end = Date(2025, 12, 31);
  std::map<std::string, std::vector<double>> model;  // firm -> installed H100e at each quarter's last month
  simulate(s, [&](int t, const State& st, const PeriodSummary&) {
    if (t % 3 != 2) return;
    for (int f = 0; f < s.nfirm(); ++f) {
      double h = 0;
      for (int r = 0; r < s.nregion(); ++r)
        for (int g = 0; g < s.ngeneration(); ++g)
          h += st.installed[static_cast<size_t>((f * s.nregion() + r) * s.ngeneration() + g)] *
               s.generations[static_cast<size_t>(g)].train_h100e;
      model[s.firms[static_cast<size_t>(f)].id].push_back(h);
    }
  });
  int inside = 0, total = 0;
  for (auto& [name, firm] : owner) {
    Band cum;
    const auto& v = shipped[firm];
    for (int q = 0; q < 16; ++q) {
      if (q < static_cast<int>(v.size())) {
        cum.p5 += v[static_cast<size_t>(q)].p5;
        cum.median += v[static_cast<size_t>(q)].median;
        cum.p95 += v[static_cast<size_t>(q)].p95;
      }
      if (q < 4) continue;  // 2022 is the fleet at the start
      const double m = model[firm][static_cast<size_t>(q - 4)];
      CAPTURE(firm);
      CAPTURE(q);
      CAPTURE(m);
      CAPTURE(cum.p5);
      CAPTURE(cum.p95);
      CHECK(m >= cum.p5);
      CHECK(m <= cum.p95);
      inside += m >= cum.p5 && m <= cum.p95;
      ++total;
    }
  }
  CHECK(total == 5 * 12);
  CHECK(inside == total);
}

TEST_CASE("backcast: shipments per generation family per quarter 2023-2025, within Epoch's band") {
  // family -> the base scenario's generations, and Epoch's chip timelines
  const std::map<std::string, std::vector<std::string>> gens = {
      {"nvidia", {"a100", "h100", "h20", "b200", "b300"}},
      {"tpu", {"tpu_v4", "tpu_v5", "tpu_v6e", "tpu_v7"}},
      {"trainium", {"trn1", "trn2"}},
      {"amd", {"mi300", "mi355"}}};
  const std::map<std::string, std::string> files = {{"nvidia", "nvidia_calendar_quarter_chip_timelines.csv"},
                                                    {"tpu", "tpu_calendar_quarter_chip_timelines.csv"},
                                                    {"trainium", "trainium_chip_timelines.csv"},
                                                    {"amd", "amd_chip_timelines.csv"}};
  Scenario s = load_scenario_file(GPUMM_SOURCE_DIR "/inputs/base.yaml");
  s.end = Date(2025, 12, 31);
  std::map<std::string, std::vector<double>> model;  // family -> H100e delivered per quarter
  for (auto& [fam, ids] : gens) model[fam].assign(12, 0.0);
  simulate(s, [&](int t, const State& st, const PeriodSummary&) {
    for (auto& [fam, ids] : gens)
      for (const std::string& id : ids) {
        int g = 0;
        while (s.generations[static_cast<size_t>(g)].id != id) ++g;
        for (int c = 0; c < st.ncell; ++c)
          model[fam][static_cast<size_t>(t / 3)] += st.delivered[static_cast<size_t>(c * st.ngen + g)] *
                                                    s.generations[static_cast<size_t>(g)].train_h100e;
      }
  });
  int inside = 0, total = 0;
  for (auto& [fam, file] : files) {
    std::vector<Band> epoch(16);
    for (auto& row : read_csv(kHistory + file)) {
      const int q = quarter_of(row["Start date"]);
      if (q < 4 || q >= 16) continue;
      epoch[static_cast<size_t>(q)].median += num(row["Compute estimate in H100e (median)"]);
      epoch[static_cast<size_t>(q)].p5 += num(row["H100e (5th percentile)"]);
      epoch[static_cast<size_t>(q)].p95 += num(row["H100e (95th percentile)"]);
    }
    for (int q = 4; q < 16; ++q) {
      const Band& b = epoch[static_cast<size_t>(q)];
      if (b.median <= 0) continue;  // no shipments that quarter
      const double m = model[fam][static_cast<size_t>(q - 4)];
      CAPTURE(fam);
      CAPTURE(q);
      CAPTURE(m);
      CAPTURE(b.p5);
      CAPTURE(b.p95);
      inside += m >= b.p5 && m <= b.p95;
      ++total;
      CHECK(m >= b.p5);
      CHECK(m <= b.p95);
    }
  }
  CHECK(total > 30);
  CHECK(inside == total);
}
