/*
 * kiln-launcher: the entrypoint of a CNB app image built by Kiln.
 *
 * It reads the launch file Kiln's exporter wrote (docs/cnb.md, "The
 * launcher"), picks a process type, applies that process's environment,
 * runs the exec.d executables and replaces itself with the process.
 *
 * The launch file is written by Kiln, but the image may be run anywhere and
 * the file may have been altered, so every line, every count and every exec.d
 * output is bounded, and anything unexpected stops the launch with the file
 * and line rather than starting a half-configured process.
 *
 * Statically linked (scripts/build-launcher.sh) so it runs on any run image,
 * including one without a libc.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LINE (64 * 1024)           /* bytes in one launch file line, newline excluded */
#define MAX_FILE (16 * 1024 * 1024)    /* bytes in the whole launch file */
#define MAX_PROCESSES 256
#define MAX_ARGV 1024                  /* command elements plus args of one process */
#define MAX_ENV 1024                   /* env lines of one process */
#define MAX_EXECD_DIRS 256             /* execd lines, for all processes together */
#define MAX_EXECD_FILES 1024           /* executables in one exec.d directory */
#define MAX_EXECD_OUTPUT (1024 * 1024) /* bytes one exec.d executable may write to fd 3 */

static const char *launch_path;

/* platform.md: a launcher that fails before the process starts exits 80-89
 * ("launch-specific lifecycle errors"), never with a code the app could
 * have returned. Kiln's: 80 the launch file, 81 choosing the process, 82
 * exec.d, 83 starting the process. */
enum { EXIT_LAUNCH_FILE = 80, EXIT_PROCESS_TYPE = 81, EXIT_EXECD = 82, EXIT_START = 83 };
static int failure_code = EXIT_LAUNCH_FILE;

static void die(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *format, ...) {
    va_list list;
    fputs("kiln-launcher: ", stderr);
    va_start(list, format);
    vfprintf(stderr, format, list);
    va_end(list);
    fputc('\n', stderr);
    exit(failure_code);
}

/* A launch file error names the file and the line, so a bad export is found quickly. */
static void bad_line(long line, const char *format, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void bad_line(long line, const char *format, ...) {
    va_list list;
    fprintf(stderr, "kiln-launcher: %s line %ld: ", launch_path, line);
    va_start(list, format);
    vfprintf(stderr, format, list);
    va_end(list);
    fputc('\n', stderr);
    exit(EXIT_LAUNCH_FILE);
}

static char *copy(const char *text) {
    char *result = strdup(text);
    if (!result) die("out of memory");
    return result;
}

struct process {
    char *type;
    char *command[MAX_ARGV]; /* always passed: the executable, then its fixed arguments */
    int command_count;
    char *args[MAX_ARGV];    /* default arguments, replaced by any the user gives */
    int arg_count;
    char *directory;
    char *env[MAX_ENV];      /* NAME=VALUE */
    int env_count;
    long line;
};

struct execd {
    char *type; /* NULL: for every process */
    char *directory;
};

static struct process processes[MAX_PROCESSES];
/* A user-provided command (`launcher [--] CMD ARGS`): the launch environment no process narrows. */
static struct process user_command = { .type = "(user command)" };
static int process_count;
static struct execd execds[MAX_EXECD_DIRS];
static int execd_count;
static char *default_type;
static long default_line;

/* Process types as launch.toml allows them: letters, digits, '.', '-', '_'. */
static int valid_type(const char *type) {
    if (!*type) return 0;
    for (const char *c = type; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_')) return 0;
    }
    return 1;
}

/* Environment names as a shell can use them; anything else is refused rather than set. */
static int valid_name(const char *name, size_t length) {
    if (length == 0 || (name[0] >= '0' && name[0] <= '9')) return 0;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

static struct process *find_process(const char *type) {
    for (int i = 0; i < process_count; i++) {
        if (strcmp(processes[i].type, type) == 0) return &processes[i];
    }
    return NULL;
}

/* Splits "WORD REST" at the first space; REST is kept verbatim, spaces and all. */
static char *split(char *line, long number, const char *keyword) {
    char *space = strchr(line, ' ');
    if (!space || !space[1]) bad_line(number, "%s needs a value", keyword);
    *space = 0;
    return space + 1;
}

static void parse_line(char *line, long number, struct process **current) {
    if (!*line || *line == '#') return;
    char *space = strchr(line, ' ');
    if (!space || !space[1]) bad_line(number, "\"%.64s\" is not a keyword and a value", line);
    *space = 0;
    char *keyword = line, *value = space + 1;

    if (strcmp(keyword, "process") == 0) {
        if (!valid_type(value)) bad_line(number, "process type \"%.64s\" may hold only letters, digits, '.', '-' and '_'", value);
        if (find_process(value)) bad_line(number, "process type %s is given twice", value);
        if (process_count == MAX_PROCESSES) bad_line(number, "more than %d processes", MAX_PROCESSES);
        *current = &processes[process_count++];
        (*current)->type = copy(value);
        (*current)->line = number;
    } else if (strcmp(keyword, "command") == 0 || strcmp(keyword, "arg") == 0) {
        if (!*current) bad_line(number, "%s before any process line", keyword);
        struct process *process = *current;
        if (process->command_count + process->arg_count == MAX_ARGV) bad_line(number, "process %s has more than %d command elements and args", process->type, MAX_ARGV);
        if (keyword[0] == 'c') {
            if (process->arg_count) bad_line(number, "process %s: command after arg", process->type);
            process->command[process->command_count++] = copy(value);
        } else {
            process->args[process->arg_count++] = copy(value);
        }
    } else if (strcmp(keyword, "directory") == 0) {
        if (!*current) bad_line(number, "directory before any process line");
        if ((*current)->directory) bad_line(number, "process %s has two directory lines", (*current)->type);
        (*current)->directory = copy(value);
    } else if (strcmp(keyword, "default") == 0) {
        if (default_type) bad_line(number, "a second default (%s after %s)", value, default_type);
        if (!valid_type(value)) bad_line(number, "default \"%.64s\" is not a process type", value);
        default_type = copy(value);
        default_line = number;
    } else if (strcmp(keyword, "env") == 0) {
        char *assignment = split(value, number, "env");
        struct process *process = find_process(value);
        if (!process) bad_line(number, "env for process %.64s, which no earlier process line defines", value);
        char *equals = strchr(assignment, '=');
        if (!equals || !valid_name(assignment, (size_t)(equals - assignment))) bad_line(number, "env %s: \"%.64s\" is not NAME=VALUE", value, assignment);
        if (process->env_count == MAX_ENV) bad_line(number, "process %s has more than %d env lines", process->type, MAX_ENV);
        process->env[process->env_count++] = copy(assignment);
    } else if (strcmp(keyword, "command-env") == 0) {
        char *equals = strchr(value, '=');
        if (!equals || !valid_name(value, (size_t)(equals - value))) bad_line(number, "command-env: \"%.64s\" is not NAME=VALUE", value);
        if (user_command.env_count == MAX_ENV) bad_line(number, "more than %d command-env lines", MAX_ENV);
        user_command.env[user_command.env_count++] = copy(value);
    } else if (strcmp(keyword, "execd") == 0 || strcmp(keyword, "process-execd") == 0) {
        char *type = NULL, *directory = value;
        if (keyword[0] == 'p') {
            directory = split(value, number, "process-execd");
            type = value;
            if (!find_process(type)) bad_line(number, "process-execd for process %.64s, which no earlier process line defines", type);
        }
        if (execd_count == MAX_EXECD_DIRS) bad_line(number, "more than %d exec.d directories", MAX_EXECD_DIRS);
        execds[execd_count].type = type ? copy(type) : NULL;
        execds[execd_count++].directory = copy(directory);
    } else {
        bad_line(number, "unknown keyword \"%.64s\"", keyword);
    }
}

static void read_launch_file(void) {
    FILE *file = fopen(launch_path, "re");
    if (!file) die("cannot open launch file %s: %s", launch_path, strerror(errno));
    static char line[MAX_LINE + 2];
    struct process *current = NULL;
    long number = 0, total = 0;
    for (;;) {
        size_t length = 0;
        int c = 0;
        /* Read byte by byte so a NUL inside a line is seen and no line can overrun the buffer. */
        while ((c = getc(file)) != EOF && c != '\n') {
            if (c == 0) bad_line(number + 1, "holds a NUL byte");
            if (length == MAX_LINE) bad_line(number + 1, "longer than %d bytes", MAX_LINE);
            line[length++] = (char)c;
        }
        if (ferror(file)) die("cannot read launch file %s: %s", launch_path, strerror(errno));
        if (c == EOF && length == 0) break;
        number++;
        total += (long)length + 1;
        if (total > MAX_FILE) bad_line(number, "the launch file is larger than %d bytes", MAX_FILE);
        line[length] = 0;
        if (number == 1) {
            if (strcmp(line, "kiln-launch 1") != 0) bad_line(1, "the first line must be \"kiln-launch 1\", not \"%.64s\"", line);
            continue;
        }
        parse_line(line, number, &current);
        if (c == EOF) break;
    }
    fclose(file);
    if (number == 0) die("%s is empty; the first line must be \"kiln-launch 1\"", launch_path);
    for (int i = 0; i < process_count; i++) {
        if (!processes[i].command_count) bad_line(processes[i].line, "process %s has no command line", processes[i].type);
    }
    if (default_type && !find_process(default_type)) bad_line(default_line, "default %s is not a process type of the file", default_type);
}

/* "web, worker" for an error naming what could have been asked for. */
static void die_unknown(const char *type, const char *how) {
    static char list[4096];
    size_t used = 0;
    list[0] = 0;
    for (int i = 0; i < process_count && used < sizeof list - 64; i++) {
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", processes[i].type);
    }
    if (used >= sizeof list - 64 && process_count) snprintf(list + used, sizeof list - used, ", ...");
    if (process_count) die("no process type \"%.64s\" (%s); the image has %s", type, how, list);
    die("no process type \"%.64s\" (%s); the image has no processes", type, how);
}

/* Reads exec.d output: only `NAME = "value"` lines, blank lines and comments, as the spec's exec.d TOML. */
static void apply_execd_output(char *text, size_t size, const char *program) {
    long number = 0;
    char *line = text, *end = text + size;
    while (line < end) {
        char *newline = memchr(line, '\n', (size_t)(end - line));
        char *stop = newline ? newline : end;
        number++;
        if (memchr(line, 0, (size_t)(stop - line))) die("exec.d %s output line %ld: holds a NUL byte", program, number);
        char *p = line;
        while (p < stop && (*p == ' ' || *p == '\t')) p++;
        if (p < stop && stop[-1] == '\r') stop--;
        if (p == stop || *p == '#') { line = (newline ? newline : end) + 1; continue; }
        char *name = p;
        while (p < stop && *p != ' ' && *p != '\t' && *p != '=') p++;
        size_t name_length = (size_t)(p - name);
        if (!valid_name(name, name_length)) die("exec.d %s output line %ld: \"%.*s\" is not an environment variable name", program, number, (int)(name_length > 64 ? 64 : name_length), name);
        while (p < stop && (*p == ' ' || *p == '\t')) p++;
        if (p == stop || *p != '=') die("exec.d %s output line %ld: expected NAME = \"value\"", program, number);
        p++;
        while (p < stop && (*p == ' ' || *p == '\t')) p++;
        if (p == stop || *p != '"') die("exec.d %s output line %ld: the value must be a TOML basic string (\"...\")", program, number);
        p++;
        /* The value is decoded in place: it is never longer than its escaped form. */
        char *value = p, *out = p;
        int closed = 0;
        while (p < stop) {
            char c = *p++;
            if (c == '"') { closed = 1; break; }
            if (c == '\\') {
                if (p == stop) break;
                char e = *p++;
                if (e == '"' || e == '\\') *out++ = e;
                else if (e == 'n') *out++ = '\n';
                else if (e == 't') *out++ = '\t';
                else die("exec.d %s output line %ld: escape \\%c is not supported (only \\\" \\\\ \\n \\t)", program, number, e);
            } else {
                *out++ = c;
            }
        }
        if (!closed) die("exec.d %s output line %ld: the string is not closed", program, number);
        while (p < stop && (*p == ' ' || *p == '\t')) p++;
        if (p < stop && *p != '#') die("exec.d %s output line %ld: unexpected text after the value", program, number);
        name[name_length] = 0;
        *out = 0;
        if (setenv(name, value, 1) != 0) die("exec.d %s: cannot set %s: %s", program, name, strerror(errno));
        line = (newline ? newline : end) + 1;
    }
}

/* Runs one exec.d executable with fd 3 the write end of a pipe, and sets what it writes there. */
static void run_execd(const char *program, const char *app) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) die("exec.d %s: cannot make a pipe: %s", program, strerror(errno));
    pid_t child = fork();
    if (child < 0) die("exec.d %s: cannot fork: %s", program, strerror(errno));
    if (child == 0) {
        /* dup2 onto itself keeps close-on-exec, so fd 3 is cleared by hand in that case. */
        if (fds[1] == 3) { if (fcntl(3, F_SETFD, 0) != 0) _exit(126); }
        else if (dup2(fds[1], 3) != 3) _exit(126);
        if (chdir(app) != 0) {
            fprintf(stderr, "kiln-launcher: exec.d %s: cannot enter the app directory %s: %s\n", program, app, strerror(errno));
            _exit(126);
        }
        execl(program, program, (char *)NULL);
        fprintf(stderr, "kiln-launcher: exec.d %s: cannot run: %s\n", program, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    static char output[MAX_EXECD_OUTPUT + 1];
    size_t size = 0;
    for (;;) {
        ssize_t got = read(fds[0], output + size, MAX_EXECD_OUTPUT + 1 - size);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) die("exec.d %s: cannot read its output: %s", program, strerror(errno));
        if (got == 0) break;
        size += (size_t)got;
        if (size > MAX_EXECD_OUTPUT) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
            die("exec.d %s wrote more than %d bytes to fd 3", program, MAX_EXECD_OUTPUT);
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) die("exec.d %s: cannot wait for it: %s", program, strerror(errno));
    }
    if (WIFSIGNALED(status)) die("exec.d %s was killed by signal %d", program, WTERMSIG(status));
    if (WEXITSTATUS(status) != 0) die("exec.d %s exited with status %d", program, WEXITSTATUS(status));
    output[size] = 0;
    apply_execd_output(output, size, program);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the files of one exec.d directory in name order; subdirectories are exec.d/<process> and skipped here. */
static void run_execd_directory(const char *directory, const char *app) {
    DIR *dir = opendir(directory);
    if (!dir) {
        if (errno == ENOENT) return; /* a layer without exec.d contributes nothing */
        die("exec.d %s: cannot open: %s", directory, strerror(errno));
    }
    static char *names[MAX_EXECD_FILES];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        struct stat info;
        if (fstatat(dirfd(dir), entry->d_name, &info, 0) != 0) die("exec.d %s/%s: %s", directory, entry->d_name, strerror(errno));
        if (S_ISDIR(info.st_mode)) continue;
        if (!S_ISREG(info.st_mode)) die("exec.d %s/%s is not a file", directory, entry->d_name);
        if (count == MAX_EXECD_FILES) die("exec.d %s holds more than %d files", directory, MAX_EXECD_FILES);
        size_t length = strlen(directory) + strlen(entry->d_name) + 2;
        names[count] = malloc(length);
        if (!names[count]) die("out of memory");
        snprintf(names[count++], length, "%s/%s", directory, entry->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)count, sizeof names[0], compare_names);
    for (int i = 0; i < count; i++) {
        run_execd(names[i], app);
        free(names[i]);
    }
}

int main(int argc, char **argv) {
    launch_path = getenv("CNB_LAUNCH_FILE");
    if (!launch_path || !*launch_path) launch_path = "/cnb/kiln-launch";
    launch_path = copy(launch_path);
    const char *app = getenv("CNB_APP_DIR");
    app = copy(app && *app ? app : "/workspace");
    read_launch_file();

    failure_code = EXIT_PROCESS_TYPE;
    /* The type: $0's name (a /cnb/process/<type> link), else argv[1] when it names one (`docker run IMAGE web`),
     * else a user-provided command (platform.md: `-- CMD ARGS` run directly, `CMD ARGS` through a shell),
     * else $CNB_PROCESS_TYPE, else the default. */
    struct process *process = NULL;
    int user_args = 1;
    int shell_command = 0;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if ((process = find_process(base))) {
        user_args = 1;
    } else if (argc > 1 && strcmp(argv[1], "--") == 0) {
        if (argc < 3) die("-- must be followed by the command to run");
        process = &user_command;
        user_args = 2;
    } else if (argc > 1 && (process = find_process(argv[1]))) {
        user_args = 2;
    } else if (argc > 1) {
        process = &user_command;
        shell_command = 1;
        user_args = 1;
    } else {
        const char *wanted = getenv("CNB_PROCESS_TYPE");
        if (wanted && *wanted) {
            process = find_process(wanted);
            if (!process) die_unknown(wanted, "CNB_PROCESS_TYPE");
        } else if (default_type) {
            process = find_process(default_type);
        } else {
            die("no process type given and %s has no default", launch_path);
        }
    }

    failure_code = EXIT_START;
    /* The launcher's own settings are not the app's (platform spec, launch environment). */
    unsetenv("CNB_PROCESS_TYPE");
    unsetenv("CNB_APP_DIR");
    unsetenv("CNB_LAYERS_DIR");
    unsetenv("CNB_LAUNCH_FILE");
    for (int i = 0; i < process->env_count; i++) {
        char *equals = strchr(process->env[i], '=');
        *equals = 0;
        if (setenv(process->env[i], equals + 1, 1) != 0) die("process %s: cannot set %s: %s", process->type, process->env[i], strerror(errno));
    }
    /* Every process's exec.d first, then this process's own, each in the exporter's order (a user command has none of its own). */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < execd_count; i++) {
            if (pass == 0 ? execds[i].type != NULL : (process == &user_command || execds[i].type == NULL || strcmp(execds[i].type, process->type) != 0)) continue;
            failure_code = EXIT_EXECD;
            run_execd_directory(execds[i].directory, app);
            failure_code = EXIT_START;
        }
    }

    /* API 0.9 and later: the command's own elements always, then the user's args if any, else the default args. */
    int given = argc - user_args;
    if (given < 0) given = 0;
    if (given > MAX_ARGV) die("more than %d arguments", MAX_ARGV);
    static char *child_argv[2 * MAX_ARGV + 4];
    int n = 0;
    if (shell_command) {
        /* Not direct: the command is a shell's, its arguments the shell's $1... */
        child_argv[n++] = "/bin/sh";
        child_argv[n++] = "-c";
        child_argv[n++] = argv[1];
        child_argv[n++] = "sh";
        user_args = 2;
        given = argc - user_args;
    }
    for (int i = 0; i < process->command_count; i++) child_argv[n++] = process->command[i];
    if (given) for (int i = 0; i < given; i++) child_argv[n++] = argv[user_args + i];
    else for (int i = 0; i < process->arg_count; i++) child_argv[n++] = process->args[i];
    child_argv[n] = NULL;

    /* A relative directory is taken from the app directory, as working-dir is. */
    if (chdir(app) != 0) die("process %s: cannot enter the app directory %s: %s", process->type, app, strerror(errno));
    if (process->directory && chdir(process->directory) != 0) die("process %s: cannot enter its directory %s: %s", process->type, process->directory, strerror(errno));
    fflush(NULL);
    execvp(child_argv[0], child_argv);
    die("process %s: cannot run %s: %s", process->type, child_argv[0], strerror(errno));
}
