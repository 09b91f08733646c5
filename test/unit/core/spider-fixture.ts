/**
 * The task graph of Spider's own serde test (spider-core/tests/test_task_graph_serde.rs,
 * TASK_GRAPH_IN_JSON), verbatim: ten tasks covering every type descriptor form, explicit and
 * default policies, duplicate sources, a task with no inputs and no outputs, and both
 * termination tasks.
 */
export const SPIDER_TASK_GRAPH_JSON = `
{
  "schema_version": "0.1.0",
  "commit_task": {
    "tdl_context": {"package": "test_pkg", "task_func": "commit_fn"},
    "execution_policy": {
      "max_num_retry": 1,
      "max_num_instances": 1,
      "timeout_policy": {"soft_timeout_ms": 150000, "hard_timeout_ms": 300000}
    }
  },
  "cleanup_task": {
    "tdl_context": {"package": "test_pkg", "task_func": "cleanup_fn"}
  },
  "tasks": [
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_1"},
      "execution_policy": {
        "max_num_retry": 3,
        "max_num_instances": 2,
        "timeout_policy": {"soft_timeout_ms": 200000, "hard_timeout_ms": 600000}
      },
      "inputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int32"
            }
          }
        },
        {
          "Value": {
            "Primitive": {
              "Float": "Float64"
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int64"
            }
          }
        },
        {
          "Value": {
            "Primitive": "Boolean"
          }
        }
      ],
      "input_sources": null
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_2"},
      "inputs": [
        {
          "Value": {
            "Bytes": {}
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "List": {
              "Primitive": {
                "Int": "Int32"
              }
            }
          }
        },
        {
          "Value": {
            "Bytes": {}
          }
        }
      ],
      "input_sources": null
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_3"},
      "inputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int64"
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Map": {
              "key": {
                "Int": "Int32"
              },
              "value": {
                "Primitive": {
                  "Float": "Float64"
                }
              }
            }
          }
        },
        {
          "Value": {
            "Struct": "Result"
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 0,
          "position": 0
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_4"},
      "inputs": [
        {
          "Value": {
            "Map": {
              "key": {
                "Int": "Int32"
              },
              "value": {
                "Primitive": {
                  "Float": "Float64"
                }
              }
            }
          }
        },
        {
          "Value": {
            "Primitive": "Boolean"
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int32"
            }
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 2,
          "position": 0
        },
        {
          "task_idx": 0,
          "position": 1
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_5"},
      "inputs": [
        {
          "Value": {
            "Map": {
              "key": {
                "Int": "Int32"
              },
              "value": {
                "Primitive": {
                  "Float": "Float64"
                }
              }
            }
          }
        },
        {
          "Value": {
            "List": {
              "Primitive": {
                "Int": "Int32"
              }
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Float": "Float32"
            }
          }
        },
        {
          "Value": {
            "Bytes": {}
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 2,
          "position": 0
        },
        {
          "task_idx": 1,
          "position": 0
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_6"},
      "inputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int32"
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": "Boolean"
          }
        },
        {
          "Value": {
            "List": {
              "Bytes": {}
            }
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 3,
          "position": 0
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_7"},
      "inputs": [
        {
          "Value": {
            "List": {
              "Bytes": {}
            }
          }
        },
        {
          "Value": {
            "List": {
              "Bytes": {}
            }
          }
        },
        {
          "Value": {
            "Primitive": "Boolean"
          }
        },
        {
          "Value": {
            "Bytes": {}
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int64"
            }
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 5,
          "position": 1
        },
        {
          "task_idx": 5,
          "position": 1
        },
        {
          "task_idx": 5,
          "position": 0
        },
        {
          "task_idx": 4,
          "position": 1
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_8"},
      "inputs": [
        {
          "Value": {
            "List": {
              "Bytes": {}
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Float": "Float64"
            }
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 5,
          "position": 1
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_9"},
      "inputs": [
        {
          "Value": {
            "Bytes": {}
          }
        },
        {
          "Value": {
            "List": {
              "Primitive": {
                "Int": "Int32"
              }
            }
          }
        }
      ],
      "outputs": [
        {
          "Value": {
            "Primitive": {
              "Int": "Int32"
            }
          }
        }
      ],
      "input_sources": [
        {
          "task_idx": 1,
          "position": 1
        },
        {
          "task_idx": 1,
          "position": 0
        }
      ]
    },
    {
      "tdl_context": {"package": "test_pkg", "task_func": "fn_10"},
      "inputs": [],
      "outputs": [],
      "input_sources": null
    }
  ]
}
`;
