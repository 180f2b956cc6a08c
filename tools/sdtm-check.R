# Reads SAS transport files back for tools/sdtm-check, with R's foreign
# package: for each dataset NAME given, WORK/name.xpt becomes
# WORK/name.r.csv (its values, as read.xport gives them; a missing number
# and an empty text are both empty) and WORK/name.meta.csv (each variable's
# name, label, type and width, as lookup.xport gives them).
#   Rscript tools/sdtm-check.R WORK NAME...
library(foreign)
args <- commandArgs(trailingOnly = TRUE)
work <- args[1]
for (name in args[-1]) {
  file <- file.path(work, paste0(tolower(name), ".xpt"))
  info <- lookup.xport(file)
  stopifnot(length(info) == 1, names(info) == name)
  meta <- info[[1]]
  write.csv(data.frame(name = meta$name, label = meta$label, type = meta$type,
                       width = meta$width),
            file.path(work, paste0(tolower(name), ".meta.csv")), row.names = FALSE)
  data <- read.xport(file, as.is = TRUE)
  # numbers as R prints them at full precision; strings as they are
  for (k in names(data))
    if (is.numeric(data[[k]]))
      data[[k]] <- ifelse(is.na(data[[k]]), "", format(data[[k]], digits = 15, trim = TRUE,
                                                       scientific = FALSE))
  write.csv(data, file.path(work, paste0(tolower(name), ".r.csv")), row.names = FALSE, na = "")
}
