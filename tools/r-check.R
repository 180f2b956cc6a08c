# The survival figures R gives for the inputs tools/r-check wrote: for each
# case, the Kaplan-Meier fit of everyone and of each group (curve, median,
# landmarks with extend = TRUE, restricted mean), and with groups the
# log-rank test and the Cox model with Efron ties. Writes one row per
# figure: case, scope, figure, index, value (NA where R gives none).
# usage: Rscript tools/r-check.R INPUTS.csv CASES.csv OUT.csv
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
inputs <- read.csv(args[1], stringsAsFactors = FALSE)
cases <- read.csv(args[2], stringsAsFactors = FALSE, colClasses = "character")
chunks <- list()
# one figure, or a figure's values at indices 0.. (vectors)
put <- function(case, scope, figure, index, value) {
  if (is.null(value) || length(value) == 0) value <- NA
  v <- if (is.character(value)) value else sprintf("%.17g", value)
  v[is.na(value)] <- "NA"
  chunks[[length(chunks) + 1]] <<- data.frame(case = case, scope = scope, figure = figure,
                                              index = index, value = v)
}
fit_one <- function(case, scope, d, level, at, tau) {
  put(case, scope, "n", 0, nrow(d))
  put(case, scope, "events", 0, sum(d$event))
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log", conf.int = level)
  tab <- summary(fit)$table
  put(case, scope, "median_time_days", 0, tab[["median"]])
  put(case, scope, "median_lower", 0, tab[[grep("LCL", names(tab))]])
  put(case, scope, "median_upper", 0, tab[[grep("UCL", names(tab))]])
  i <- seq_along(fit$time) - 1
  put(case, scope, "curve_time_days", i, fit$time)
  put(case, scope, "curve_n_risk", i, fit$n.risk)
  put(case, scope, "curve_n_event", i, fit$n.event)
  put(case, scope, "curve_n_censor", i, fit$n.censor)
  put(case, scope, "curve_survival", i, fit$surv)
  put(case, scope, "curve_lower", i, fit$lower)
  put(case, scope, "curve_upper", i, fit$upper)
  if (length(at) > 0) {
    s <- summary(fit, times = at, extend = TRUE)
    i <- seq_along(at) - 1
    put(case, scope, "at_time_days", i, s$time)
    put(case, scope, "at_n_risk", i, s$n.risk)
    put(case, scope, "at_survival", i, s$surv)
    put(case, scope, "at_lower", i, s$lower)
    put(case, scope, "at_upper", i, s$upper)
  }
  if (!is.na(tau)) {
    if (tau < min(d$time)) {
      # R refuses a tau before the first time: the curve is 1 up to it
      est <- tau; se <- 0
    } else {
      tab <- summary(fit, rmean = tau)$table
      est <- tab[["rmean"]]; se <- tab[["se(rmean)"]]
    }
    z <- qnorm((1 + level) / 2)
    put(case, scope, "rmst_estimate", 0, est)
    put(case, scope, "rmst_se", 0, se)
    put(case, scope, "rmst_lower", 0, est - z * se)
    put(case, scope, "rmst_upper", 0, est + z * se)
  }
}
for (k in seq_len(nrow(cases))) {
  cs <- cases[k, ]
  case <- as.integer(cs$case)
  d <- inputs[inputs$case == case, ]
  level <- as.numeric(cs$level)
  at <- if (cs$at == "") numeric(0) else sort(as.numeric(strsplit(cs$at, ",")[[1]]))
  tau <- if (cs$tau == "") NA else as.numeric(cs$tau)
  fit_one(case, "overall", d, level, at, tau)
  if (cs$grouped == "1") {
    groups <- unique(d$grp)
    for (g in groups) fit_one(case, g, d[d$grp == g, ], level, at, tau)
    sd <- if (length(groups) >= 2) suppressWarnings(survdiff(Surv(time, event) ~ grp, data = d))
    # fewer than two groups expecting events: R's chi-square is 0 on df
    # -1 or below; cohortd answers null, df 0
    if (length(groups) >= 2 && sum(sd$exp > 0) >= 2) {
      df <- sum(sd$exp > 0) - 1
      put(case, "comparison", "chisq", 0, sd$chisq)
      put(case, "comparison", "df", 0, df)
      put(case, "comparison", "p", 0, pchisq(sd$chisq, df, lower.tail = FALSE))
    } else {
      put(case, "comparison", "chisq", 0, NA)
      put(case, "comparison", "df", 0, 0)
      put(case, "comparison", "p", 0, NA)
    }
    ref <- cs$reference
    others <- setdiff(groups, ref)
    if (length(groups) >= 2) {
      d$g <- factor(d$grp, levels = c(ref, others))
      warned <- character(0)
      fit <- withCallingHandlers(
        coxph(Surv(time, event) ~ g, data = d, ties = "efron"),
        warning = function(w) {
          warned <<- c(warned, conditionMessage(w))
          invokeRestart("muffleWarning")
        })
      co <- summary(fit)$coefficients
      z <- qnorm((1 + level) / 2)
      for (i in seq_along(others)) {
        bad <- any(grepl("did not converge", warned)) ||
          any(grepl(sprintf("variable %d;|variable +%d ;", i, i), warned)) ||
          sum(d$event[d$grp == others[i]]) == 0 || sum(d$event[d$grp == ref]) == 0
        b <- co[i, "coef"]; se <- co[i, "se(coef)"]
        scope <- paste0("hr:", others[i])
        put(case, scope, "hr", 0, if (bad) NA else exp(b))
        put(case, scope, "lower", 0, if (bad) NA else exp(b - z * se))
        put(case, scope, "upper", 0, if (bad) NA else exp(b + z * se))
        put(case, scope, "p", 0, if (bad) NA else co[i, "Pr(>|z|)"])
        put(case, scope, "reference", 0, ref)
      }
    }
  }
}
write.csv(do.call(rbind, chunks), args[3], row.names = FALSE)
