"""Skills taxonomy (pure data): canonical skill -> (category, aliases).

``canonical_skill`` maps a normalised skill mention ("JS", "k8s", "Reactjs", "MS-Excel") to its
canonical lowercase name; unknown skills pass through normalised. Keys and aliases are compared
after :func:`canonical_key` (lowercase, single spaces, no edge punctuation, "-"/"_" as spaces).
"""

from __future__ import annotations

import re
import unicodedata

# canonical: (category, aliases)
TAXONOMY: dict[str, tuple[str, tuple[str, ...]]] = {
    # languages
    "python": ("language", ("py", "python3", "python 3", "python2", "python 2.7", "cpython")),
    "java": ("language", ("core java", "java se", "j2se", "java 8", "java8", "jdk")),
    "javascript": ("language", ("js", "java script", "ecmascript", "es6", "es2015", "vanilla js")),
    "typescript": ("language", ("ts",)),
    "c": ("language", ("c language", "ansi c", "c programming")),
    "c++": ("language", ("cpp", "c plus plus", "cplusplus")),
    "c#": ("language", ("c sharp", "csharp")),
    "go": ("language", ("golang", "go lang")),
    "rust": ("language", ("rust lang", "rustlang")),
    "ruby": ("language", ()),
    "php": ("language", ("php5", "php7")),
    "kotlin": ("language", ()),
    "swift": ("language", ()),
    "objective-c": ("language", ("objective c", "objc", "obj-c")),
    "scala": ("language", ()),
    "r": ("language", ("r programming", "r language", "rstats")),
    "matlab": ("language", ()),
    "perl": ("language", ()),
    "bash": ("language", ("shell scripting", "shell script", "unix shell scripting", "shell", "sh")),
    "powershell": ("language", ("power shell",)),
    "sql": ("language", ("structured query language",)),
    "pl/sql": ("language", ("plsql", "pl sql")),
    "t-sql": ("language", ("tsql", "transact-sql", "transact sql")),
    "html": ("language", ("html5", "html 5")),
    "css": ("language", ("css3", "css 3")),
    "vb.net": ("language", ("vb net", "visual basic .net")),
    "visual basic": ("language", ("vb", "vb6", "vba")),
    "cobol": ("language", ()),
    "abap": ("language", ("sap abap",)),
    # web and frameworks
    "react": ("framework", ("reactjs", "react.js", "react js")),
    "react native": ("framework", ("react-native", "reactnative")),
    "angular": ("framework", ("angularjs", "angular.js", "angular js", "angular 2")),
    "vue.js": ("framework", ("vue", "vuejs", "vue js")),
    "node.js": ("framework", ("node", "nodejs", "node js")),
    "express.js": ("framework", ("express", "expressjs")),
    "jquery": ("framework", ("j query",)),
    "django": ("framework", ()),
    "flask": ("framework", ()),
    "fastapi": ("framework", ("fast api",)),
    "spring": ("framework", ("spring framework", "spring mvc")),
    "spring boot": ("framework", ("springboot",)),
    "hibernate": ("framework", ()),
    "asp.net": ("framework", ("asp net", "asp.net mvc", "asp dot net")),
    ".net": ("framework", ("dotnet", "dot net", ".net framework", "net framework")),
    ".net core": ("framework", ("dotnet core", "asp.net core")),
    "ruby on rails": ("framework", ("rails", "ror")),
    "laravel": ("framework", ()),
    "bootstrap": ("framework", ()),
    "j2ee": ("framework", ("java ee", "jee", "jakarta ee")),
    "rest api": (
        "framework",
        ("rest", "restful", "restful api", "rest apis", "restful services", "restful web services"),
    ),
    "graphql": ("framework", ("graph ql",)),
    "soap": ("framework", ("soap web services",)),
    # data and ML
    "machine learning": ("data", ("ml",)),
    "deep learning": ("data", ("dl",)),
    "natural language processing": ("data", ("nlp",)),
    "computer vision": ("data", ()),
    "artificial intelligence": ("data", ("ai",)),
    "data analysis": ("data", ("data analytics",)),
    "data science": ("data", ()),
    "tensorflow": ("data", ("tensor flow",)),
    "pytorch": ("data", ("torch", "py torch")),
    "keras": ("data", ()),
    "scikit-learn": ("data", ("sklearn", "scikit learn", "scikit")),
    "pandas": ("data", ()),
    "numpy": ("data", ("num py",)),
    "apache spark": ("data", ("spark", "pyspark", "spark sql")),
    "hadoop": ("data", ("apache hadoop", "hdfs")),
    "hive": ("data", ("apache hive",)),
    "kafka": ("data", ("apache kafka",)),
    "airflow": ("data", ("apache airflow",)),
    "tableau": ("data", ()),
    "power bi": ("data", ("powerbi", "microsoft power bi")),
    "etl": ("data", ("extract transform load",)),
    "informatica": ("data", ("informatica powercenter",)),
    "sas": ("data", ()),
    "spss": ("data", ("ibm spss",)),
    # databases
    "postgresql": ("database", ("postgres", "postgre sql", "psql")),
    "mysql": ("database", ("my sql",)),
    "sql server": ("database", ("ms sql", "mssql", "ms sql server", "microsoft sql server", "ms-sql")),
    "oracle database": ("database", ("oracle", "oracle db", "oracle 11g", "oracle 10g", "oracle 12c")),
    "mongodb": ("database", ("mongo", "mongo db")),
    "redis": ("database", ()),
    "cassandra": ("database", ("apache cassandra",)),
    "elasticsearch": ("database", ("elastic search", "elastic")),
    "sqlite": ("database", ("sqlite3",)),
    "dynamodb": ("database", ("dynamo db", "amazon dynamodb")),
    "db2": ("database", ("ibm db2",)),
    "teradata": ("database", ()),
    "nosql": ("database", ("no sql",)),
    # cloud and devops
    "aws": ("cloud", ("amazon web services", "amazon aws")),
    "azure": ("cloud", ("microsoft azure", "ms azure", "windows azure")),
    "google cloud": ("cloud", ("gcp", "google cloud platform")),
    "docker": ("devops", ("docker containers",)),
    "kubernetes": ("devops", ("k8s", "kube")),
    "terraform": ("devops", ()),
    "ansible": ("devops", ()),
    "jenkins": ("devops", ()),
    "git": ("devops", ("git scm",)),
    "github": ("devops", ("git hub",)),
    "gitlab": ("devops", ("git lab",)),
    "svn": ("devops", ("subversion", "apache subversion")),
    "ci/cd": ("devops", ("ci cd", "cicd", "continuous integration", "continuous delivery", "continuous deployment")),
    "linux": ("devops", ("gnu/linux", "redhat linux", "red hat linux", "ubuntu", "centos")),
    "unix": ("devops", ()),
    "devops": ("devops", ("dev ops",)),
    "maven": ("devops", ("apache maven",)),
    "jira": ("tools", ("atlassian jira",)),
    "confluence": ("tools", ()),
    # testing
    "selenium": ("testing", ("selenium webdriver", "selenium web driver")),
    "junit": ("testing", ("j unit",)),
    "manual testing": ("testing", ()),
    "automation testing": ("testing", ("test automation",)),
    "unit testing": ("testing", ("unit tests",)),
    # enterprise
    "sap": ("enterprise", ()),
    "salesforce": ("enterprise", ("sfdc",)),
    "servicenow": ("enterprise", ("service now",)),
    "sharepoint": ("enterprise", ("share point", "ms sharepoint")),
    # office
    "excel": ("office", ("ms excel", "microsoft excel", "advanced excel", "ms-excel")),
    "word": ("office", ("ms word", "microsoft word")),
    "powerpoint": ("office", ("ms powerpoint", "microsoft powerpoint", "power point", "ppt")),
    "ms office": ("office", ("microsoft office", "ms-office", "office 365", "ms office suite")),
    "outlook": ("office", ("ms outlook", "microsoft outlook")),
    # methods and soft skills
    "agile": ("method", ("agile methodology", "agile methodologies")),
    "scrum": ("method", ()),
    "project management": ("method", ()),
    "communication": ("soft", ("communication skills", "good communication skills")),
    "leadership": ("soft", ("team leadership",)),
    "teamwork": ("soft", ("team work", "team player")),
    "problem solving": ("soft", ("problem-solving",)),
}

_EDGE = " \t\r\n.,;:|•●▪■◦·*–—()[]{}\"'`"
_SEP_RE = re.compile(r"[\s_]+|(?<=\w)-(?=\w)")


def canonical_key(value: str) -> str:
    """Lowercase, NFKC, "-"/"_"/whitespace runs as one space, no edge punctuation."""
    value = unicodedata.normalize("NFKC", value).lower().strip(_EDGE)
    return " ".join(_SEP_RE.sub(" ", value).split())


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for canonical, (_category, aliases) in TAXONOMY.items():
        for name in (canonical, *aliases):
            index.setdefault(canonical_key(name), canonical)
    return index


ALIASES: dict[str, str] = _build_index()
CATEGORIES: dict[str, str] = {canonical: category for canonical, (category, _) in TAXONOMY.items()}


def canonical_skill(value: str) -> str | None:
    """Canonical name of a skill mention, or ``None`` when the taxonomy does not know it."""
    return ALIASES.get(canonical_key(value))


def skill_category(canonical: str) -> str | None:
    return CATEGORIES.get(canonical)
