-- Which models a plan may use. `plans.models` lists the models a tenant on the plan may
-- choose, always within the operator's OPENAI_MODELS; '*' stands for every model the
-- operator lists; empty means the operator's default model only. The trial and starter
-- plans answer with the default model; the pro plan may choose any listed model.
update plans set models = '{*}' where plan_id = 'pro';
