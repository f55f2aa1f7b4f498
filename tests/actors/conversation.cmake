# Group chat and graph coordinators, and their pure conversation logic.
swarm_test(conversation_test conversation_test.cpp group_chat_test.cpp graph_test.cpp)
target_link_libraries(conversation_test PRIVATE swarm_actors swarm_net swarm_mock_llm Boost::headers
                                                Boost::json)
