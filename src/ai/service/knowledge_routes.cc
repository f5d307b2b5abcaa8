// The knowledge base's REST routes (declared in ai/service/knowledge_base.h): list and read the
// organisation's articles (calls.handle), save and remove its own (settings.write, audited).
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ai/service/knowledge_base.h"

namespace vontres::ai::service {

using nlohmann::json;

void KnowledgeBase::register_routes(api::Router& router) {
  using api::Method;
  using api::Request;
  using api::Response;
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("ai", std::move(permission), std::move(summary));
  };
  auto own_ids = [this](const std::string& org) {
    std::lock_guard lock(mu_);
    return org_locked(org).own;
  };
  router.add(Method::kGet, "/api/v1/knowledge", opts("calls.handle", "Knowledge-base articles and scripts"),
             [this, own_ids](Request& req) {
               const std::string& org = req.principal->org_id;
               const std::set<std::string> own = own_ids(org);
               json out = json::array();
               for (const auto& d : index_for(org).documents()) {
                 out.push_back({{"id", d->id},
                                {"title", d->title},
                                {"tags", d->tags},
                                {"intents", d->intents},
                                {"passages", d->passages.size()},
                                {"required_steps", d->required_steps.size()},
                                {"source", own.contains(d->id) ? "organisation" : "shared"}});
               }
               return Response::json(200, {{"articles", out}});
             });
  router.add(Method::kGet, "/api/v1/knowledge/{id}", opts("calls.handle", "One knowledge-base article"),
             [this, own_ids](Request& req) {
               const std::string& org = req.principal->org_id;
               auto d = index_for(org).document(req.path_params.at("id"));
               if (!d) return Response::error(not_found("no article " + req.path_params.at("id"), "article_not_found"));
               json passages = json::array();
               for (const auto& p : d->passages) passages.push_back({{"heading", p.heading}, {"text", p.text}});
               json steps = json::array();
               for (const auto& s : d->required_steps) steps.push_back({{"id", s.id}, {"text", s.text}});
               return Response::json(200, {{"id", d->id},
                                           {"title", d->title},
                                           {"tags", d->tags},
                                           {"intents", d->intents},
                                           {"passages", passages},
                                           {"required_steps", steps},
                                           {"source", own_ids(org).contains(d->id) ? "organisation" : "shared"}});
             });
  router.add(Method::kPut, "/api/v1/knowledge/{id}",
             opts("settings.write", "Create or replace one of the organisation's articles (Markdown body)"),
             [this](Request& req) {
               const std::string id = req.path_params.at("id");
               if (Status saved = save(req, id); !saved.is_ok()) return Response::error(saved);
               audit(req, "knowledge_article_saved", id);
               auto d = index_for(req.principal->org_id).document(id);
               return Response::json(200, {{"id", id}, {"title", d ? d->title : std::string()}});
             });
  router.add(Method::kDelete, "/api/v1/knowledge/{id}",
             opts("settings.write", "Remove an article for the organisation"), [this](Request& req) {
               const std::string id = req.path_params.at("id");
               if (Status removed = remove(req, id); !removed.is_ok()) return Response::error(removed);
               audit(req, "knowledge_article_removed", id);
               return Response::no_content();
             });
  // The article is Markdown of at most what the parser takes, checked before the handler runs.
  router.set_body_schema(Method::kPut, "/api/v1/knowledge/{id}",
                         {{"type", "string"}, {"maxLength", knowledge::ParseLimits{}.max_bytes}}, "text/markdown");
}

}  // namespace vontres::ai::service
